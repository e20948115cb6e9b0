"""Conditioning on earlier conversation audio (the prefix).

A prefix is a list of turns, each with its speaker (1 or 2), its Mimi codes `[K, T]` (or audio to
encode) and its recognised words with start/end seconds. It becomes state-machine entries, the
steps at which each word starts (forced NEW_WORD during warm-up), and the joined codes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from app.core import FRAME_RATE, Word
from app.errors import UserError
from app.tts.state_machine import Entry

FIRST_TURN_OFFSET = 3  # the first turn's new-word steps are shifted by 3 (the reference's BOS/PAD offset)


@dataclass(frozen=True)
class PrefixTurn:
    """One earlier turn of the conversation."""

    speaker: int  # 1 = the character (`[S1]`), 2 = the person (`[S2]`)
    words: tuple[Word, ...]  # what was said, with times
    codes: torch.Tensor | None = None  # Mimi codes [K, T]; or None and `audio` given
    audio: np.ndarray | None = field(default=None, repr=False)  # mono float32 24 kHz samples

    def __post_init__(self) -> None:
        if self.speaker not in (1, 2):
            raise UserError(f"a prefix turn's speaker must be 1 or 2, not {self.speaker!r}")
        if self.codes is None and self.audio is None:
            raise UserError("a prefix turn needs its audio or its Mimi codes")


@dataclass(frozen=True)
class PrefixPlan:
    """What warm-up needs."""

    entries: tuple[Entry, ...]  # the turns' words, in order
    new_word_steps: frozenset[int]  # warm-up steps forced to NEW_WORD
    codes: torch.Tensor  # long [K, T]: the turns' codes joined in time
    word_count: int  # entries contributed (dropped from the transcript afterwards)

    @property
    def frames(self) -> int:
        return int(self.codes.shape[1])


def words_to_entries(
    words: Sequence[Word], speaker_tag: str, encode: Callable[[str], list[int]]
) -> tuple[list[Entry], list[int]]:
    """Entries and new-word steps of one turn's words (frame rate 12.5)."""
    entries: list[Entry] = []
    steps: list[int] = []
    pos = 0
    for i, word in enumerate(words):
        tokens = encode(f"{speaker_tag} {word.text}" if i == 0 else word.text)
        start = max(pos + 1, int(round(word.start * FRAME_RATE)))
        end = start + len(tokens)
        steps.append(start - 1)
        if i + 1 < len(words):
            following = max(end + 1, int(round(words[i + 1].start * FRAME_RATE)))
        else:
            following = max(end + 1, int(round(word.end * FRAME_RATE)))
        entries.append(Entry(tokens=tuple(tokens), text=word.text, padding=max(0, following - start - 1)))
        pos = end
    return entries, steps


def build_plan(
    turns: Sequence[PrefixTurn],
    encode_text: Callable[[str], list[int]],
    encode_audio: Callable[[np.ndarray], torch.Tensor] | None,
    num_codebooks: int,
) -> PrefixPlan | None:
    """Join the turns into one plan (None for an empty prefix)."""
    if not turns:
        return None
    entries: list[Entry] = []
    steps: list[int] = []
    chunks: list[torch.Tensor] = []
    frames = 0
    for i, turn in enumerate(turns):
        codes = turn.codes
        if codes is None:
            if encode_audio is None:
                raise UserError("prefix audio needs the Mimi codec to be loaded")
            assert turn.audio is not None  # PrefixTurn holds its codes or its audio
            codes = encode_audio(turn.audio)
        codes = torch.as_tensor(codes, dtype=torch.long).cpu()
        if codes.dim() != 2 or codes.shape[0] != num_codebooks:
            raise UserError(
                f"prefix turn {i + 1}: codes must have shape [{num_codebooks}, frames], got {list(codes.shape)}"
            )
        turn_entries, turn_steps = words_to_entries(turn.words, f"[S{turn.speaker}]", encode_text)
        shift = FIRST_TURN_OFFSET if i == 0 else frames
        entries += turn_entries
        steps += [s + shift for s in turn_steps]
        chunks.append(codes)
        frames += codes.shape[1]
    joined = torch.cat(chunks, dim=1)
    if joined.shape[1] == 0:
        return None
    return PrefixPlan(tuple(entries), frozenset(steps), joined, len(entries))
