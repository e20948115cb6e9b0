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

#: The words of the shared recordings. speaker1: the line of Dia2's published example script
#: that the recording speaks ("Dia2" is the model's name). speaker2: no published script was
#: found; these are the words as heard.
KNOWN_TEXT = {
    "dia2-example-speaker1.wav": "Hello Dia2 fans! Today we're unveiling the new open TTS model.",
    "dia2-example-speaker2.wav": "Sounds exciting. Show me a sample right now. Let's give it a listen.",
}

#: Sentences for espeak-ng speech of known text (recognition tests), spoken at 140 words a
#: minute (espeak-ng's default 175 is hurried enough that Whisper base mishears whole phrases).
ESPEAK_SENTENCES = (
    "Hello there, this is a short test of the speech detector.",
    "The quick brown fox jumps over the lazy dog, twice.",
    "Good morning. I would like a cup of tea and two slices of toast, please.",
    "We talked about music, books and the weather for an hour.",
    "Can you tell me the way to the nearest train station?",
)
ESPEAK_RATE = 140

_SENTENCES = (
    "Hello there, this is a short test of the speech detector.",
    "The quick brown fox jumps over the lazy dog, twice.",
)


def espeak(text: str, path: Path, rate: int = ESPEAK_RATE) -> Path:
    """`text` spoken by espeak-ng into the WAV file `path` (skips the test without espeak-ng)."""
    exe = shutil.which("espeak-ng")
    if exe is None:
        pytest.skip("espeak-ng is not installed")
    subprocess.run([exe, "-s", str(rate), "-w", str(path), text], check=True, capture_output=True)
    return path


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
