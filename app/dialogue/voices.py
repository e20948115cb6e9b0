"""The two speakers' voice samples: audio file -> words with times -> Mimi codes, as prefix turns.

A voice sample holds a speaker's voice through a long episode: it is the first thing in every
generation's prefix (S1's, then S2's). Each is cropped on whole words to `voice_max_frames`
(20 s, or a sixth of the context for smaller models), like the conversation's voice sample, and
words the recogniser (or the words file) places beyond the audio are dropped.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from app.conversation.turns import Turn
from app.core import FRAME_RATE, SAMPLE_RATE, Word
from app.errors import UserError
from app.word_times import read_words

VOICE_MAX_FRAMES = 250  # the longest voice sample kept in the prefix (20 s)


@dataclass(frozen=True)
class VoiceSource:
    """Where a speaker's voice comes from."""

    audio: Path  # any audio file the app reads
    words: Path | None = None  # JSON word times of it; None: the recogniser finds them


def voice_max_frames(context_frames: int) -> int:
    """Frames one voice sample may take in a context of `context_frames`."""
    return min(VOICE_MAX_FRAMES, max(1, context_frames // 6))


def file_digest(path: Path | None) -> str | None:
    """SHA-256 of a file's bytes (None for no file): a render resumes only on the same files."""
    if path is None:
        return None
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def prepare_audio(source: VoiceSource) -> np.ndarray:
    """The sample as float32 mono 24 kHz (UserError for missing, unreadable or silent files)."""
    from app.codec.voice import prepare_voice

    return prepare_voice(source.audio)


def read_voice_words(source: VoiceSource) -> tuple[Word, ...] | None:
    """The words file's words, or None when the recogniser is to find them."""
    if source.words is None:
        return None
    return read_words(source.words)


def voice_turn(speaker: int, source: VoiceSource, audio: np.ndarray, words: Sequence[Word] | None,
               encode: Callable[[np.ndarray], torch.Tensor],
               transcribe: Callable[[np.ndarray], Sequence[Word]], max_frames: int,
               flag: str) -> Turn:
    """The voice sample of `speaker` as a prefix turn, cropped to `max_frames` on whole words.

    `flag` names the command-line option for the words file, for the messages."""
    if words is None:
        words = tuple(transcribe(audio))
        if not words:
            raise UserError(f"no speech was recognised in {source.audio}: a voice sample must be "
                            f"someone speaking; use another recording, or give {flag}")
    duration = len(audio) / SAMPLE_RATE
    kept = tuple(w for w in words if w.end <= duration + 1e-6 and w.start < w.end)
    if not kept:
        raise UserError(f"the word times of {source.audio} all lie beyond its {duration:.1f} s "
                        f"of audio; check {flag}")
    turn = Turn(-1, speaker, kept, encode(audio), 0.0, duration).cropped(max_frames)
    if not turn.words:
        raise UserError(f"{source.audio} holds no whole word in its first {max_frames / FRAME_RATE:.0f} "
                        "s; trim the silence at its start")
    return turn


def to_record(turn: Turn) -> tuple[list, np.ndarray]:
    """(words as [text, start, end] lists, codes) for the work folder."""
    assert turn.codes is not None
    return [[w.text, w.start, w.end] for w in turn.words], turn.codes.numpy()


def from_record(speaker: int, words: list, codes: np.ndarray) -> Turn:
    ws = tuple(Word(str(t), float(a), float(b)) for t, a, b in words)
    return Turn(-1, speaker, ws, torch.from_numpy(codes.astype(np.int64)), 0.0, codes.shape[1] / FRAME_RATE)
