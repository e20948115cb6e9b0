"""Real speech for tests: the recordings in ../shared/audio, or espeak-ng speech made on the spot.

The recordings are read where they are (never copied into the repository). Without them, short
sentences are synthesised with espeak-ng; without that either, the tests that need speech skip.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

SHARED_AUDIO = Path(__file__).resolve().parents[2].parent / "shared" / "audio"

_SENTENCES = (
    "Hello there, this is a short test of the speech detector.",
    "The quick brown fox jumps over the lazy dog, twice.",
)


def speech_files(tmp_dir: Path) -> list[Path]:
    """Paths of a few English speech recordings (at least two)."""
    shared = sorted(SHARED_AUDIO.glob("*.wav")) if SHARED_AUDIO.is_dir() else []
    if shared:
        return shared
    espeak = shutil.which("espeak-ng")
    if espeak is None:
        pytest.skip("no ../shared/audio recordings and espeak-ng is not installed")
    out = []
    for i, text in enumerate(_SENTENCES):
        path = tmp_dir / f"espeak-{i}.wav"
        subprocess.run([espeak, "-w", str(path), text], check=True, capture_output=True)
        out.append(path)
    return out
