"""Fixtures for the codec tests: the demo Mimi (built once) and a real speech recording."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

SHARED_AUDIO = Path(__file__).resolve().parents[2].parent / "shared" / "audio"


@pytest.fixture(scope="session")
def demo_codec():
    """The tiny random-weight Mimi, seed 0, on the CPU."""
    from app.assets.demo_mimi import build_demo_mimi

    return build_demo_mimi(0)


@pytest.fixture(scope="session")
def speech_file(tmp_path_factory) -> Path:
    """A real English speech recording: ../shared/audio, else one synthesised with espeak-ng."""
    recorded = SHARED_AUDIO / "dia2-example-speaker1.wav"
    if recorded.is_file():
        return recorded
    espeak = shutil.which("espeak-ng")
    if espeak is None:
        pytest.skip("needs ../shared/audio or espeak-ng for speech")
    out = tmp_path_factory.mktemp("speech") / "speech.wav"
    text = "Hello there. This is a short sentence spoken for the codec tests."
    subprocess.run([espeak, "-w", str(out), text], check=True, capture_output=True)
    return out
