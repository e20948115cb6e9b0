"""The headless mode: the person's turns from audio files, no sound device.

`read_turns(files)` reads and checks the files before any model loads; `run_headless(session,
files)` plays them into a `Session` as the person's turns, one after the other.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from app.conversation.session import Session
from app.core import SAMPLE_RATE
from app.errors import UserError


def read_turns(files: Sequence[str | Path]) -> list[np.ndarray]:
    """The person's turns from audio files, 24 kHz mono (`UserError` for a missing, unreadable
    or empty file): read before any model loads."""
    from app.audio.files import read_audio

    audios = []
    for f in files:
        audio, _ = read_audio(f, SAMPLE_RATE)
        if len(audio) == 0:
            raise UserError(f"{f} holds no audio")
        audios.append(audio)
    return audios


def run_headless(session: Session, files: Sequence[str | Path | np.ndarray], *, greeting: str = "",
                 timeout: float | None = None) -> None:
    """Say the greeting (if any), then each file (or 24 kHz array) as one turn of the person, in
    order."""
    audios = [f if isinstance(f, np.ndarray) else read_turns([f])[0] for f in files]
    p = session.pipeline
    if greeting:
        p.say(greeting)
        p.wait_idle(timeout)
    for audio in audios:
        p.submit_turn(audio)
        if not p.wait_idle(timeout):
            raise UserError("a turn took longer than the time allowed; see the log (-v)")
