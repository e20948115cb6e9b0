"""Fixtures for the conversation tests: the demo models (built once per run), real speech, and
a way to write character files."""

from __future__ import annotations

import shutil
import subprocess
import textwrap
from pathlib import Path

import numpy as np
import pytest

SHARED_AUDIO = Path(__file__).resolve().parents[2].parent / "shared" / "audio"


@pytest.fixture(scope="session")
def demo_models(demo_root):
    """(Dia2 engine with the demo Mimi attached, demo Whisper recogniser), on the CPU."""
    from app.asr.demo import demo_asr_config
    from app.asr.recognizer import Recognizer
    from app.models.tts_loader import TtsChoice, load_tts

    engine = load_tts(TtsChoice(demo=True, device="cpu"))
    recognizer = Recognizer(demo_asr_config(demo_root / "whisper"))
    return engine, recognizer


@pytest.fixture(scope="session")
def speech_files(tmp_path_factory) -> list[Path]:
    """Two real English speech recordings: ../shared/audio, else synthesised with espeak-ng."""
    recorded = [SHARED_AUDIO / "dia2-example-speaker2.wav", SHARED_AUDIO / "dia2-example-speaker1.wav"]
    if all(p.is_file() for p in recorded):
        return recorded
    espeak = shutil.which("espeak-ng")
    if espeak is None:
        pytest.skip("needs ../shared/audio or espeak-ng for speech")
    folder = tmp_path_factory.mktemp("speech")
    out = []
    for i, text in enumerate(["Hello there, how are you today?", "Tell me a short story please."]):
        path = folder / f"turn{i}.wav"
        subprocess.run([espeak, "-w", str(path), text], check=True, capture_output=True)
        out.append(path)
    return out


@pytest.fixture(scope="session")
def speech24k(speech_files) -> np.ndarray:
    from app.audio.files import read_audio

    return read_audio(speech_files[0], 24000)[0]


@pytest.fixture
def write_character(tmp_path):
    """write_character(text, name="c") -> path of a TOML file with that (dedented) text."""

    def write(text: str, name: str = "c") -> Path:
        path = tmp_path / f"{name}.toml"
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return path

    return write
