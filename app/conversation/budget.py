"""The prefix budget: which earlier turns condition the next reply within Dia2's context.

Dia2 sees at most `context_frames` (1500 frames = 120 s) per generation, and the prefix (the
conditioning audio) and the reply share it. The policy, applied before every generation:

1. The character's voice (its voice sample, or its first reply once the voice is locked) always
   comes first. It was cropped, on whole words, to `voice_max_frames` when it was made.
2. `reply_reserve_frames` stay free for the reply itself, plus `safety_frames` for the warm-up
   offset, the codebook delays and the flush padding at the end.
3. What is left goes to the conversation, newest turn first, whole turns only (a turn is never
   cut: the words and the audio of a prefix turn must match). The walk stops at the first turn
   that does not fit, so the kept history is one unbroken stretch ending with the newest turn.
4. Turns without codes or words (an empty recognition) are passed over; they cost nothing.

A reply longer than the room it gets is split into several generations (see `ReplySplitter`):
each one ends at a sentence or clause end when it can, and the next is conditioned, by the same
policy, on the part just spoken.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from app.conversation.turns import Turn
from app.errors import UserError
from app.tts.generator import FLUSH_PADDING
from app.tts.prefix import FIRST_TURN_OFFSET, PrefixTurn

if TYPE_CHECKING:
    from app.tts.engine import Dia2Engine


@dataclass(frozen=True)
class PrefixBudget:
    """How the context is shared between the conditioning and the reply."""

    context_frames: int = 1500  # Dia2's context (the checkpoint's max_context_steps)
    reply_reserve_frames: int = 450  # kept free for the reply: 36 s of speech
    voice_max_frames: int = 250  # the voice sample is cropped, on whole words, to this (20 s)
    safety_frames: int = 16  # warm-up offset, delays and flush padding
    frames_per_word: float = 6.0  # planning estimate of a spoken word's length (0.48 s)
    max_turns: int | None = None  # keep at most this many conversation turns (None: no limit)

    def __post_init__(self) -> None:
        if self.reply_reserve_frames < 40:
            raise UserError("reply_reserve_frames must leave at least 40 frames (3.2 s) for a reply")
        if self.voice_max_frames + self.reply_reserve_frames + self.safety_frames > self.context_frames:
            raise UserError(
                f"the voice ({self.voice_max_frames}) and reply ({self.reply_reserve_frames}) frames "
                f"do not fit in the {self.context_frames}-frame context; lower them"
            )

    @classmethod
    def for_engine(cls, engine: Dia2Engine, **overrides: Any) -> PrefixBudget:
        """The budget sized to a loaded engine's context and delays."""
        cfg = engine.config
        values = {
            "context_frames": int(cfg.max_context_steps),
            "safety_frames": FIRST_TURN_OFFSET + int(cfg.data.max_delay) + FLUSH_PADDING + 2,
        }
        values.update(overrides)
        ctx = values["context_frames"]
        if "reply_reserve_frames" not in overrides:
            values["reply_reserve_frames"] = min(cls.reply_reserve_frames, max(40, ctx // 3))
        if "voice_max_frames" not in overrides:
            values["voice_max_frames"] = min(cls.voice_max_frames, max(1, ctx // 6))
        return cls(**values)


@dataclass(frozen=True)
class PrefixChoice:
    """The turns chosen for one generation."""

    voice: Turn | None  # the voice turn, first in the prefix
    turns: tuple[Turn, ...]  # conversation turns, oldest first
    frames: int  # total prefix frames
    room: int  # frames left for the reply (context - prefix - safety)

    def prefix(self) -> list[PrefixTurn]:
        chosen = ([self.voice] if self.voice is not None else []) + list(self.turns)
        return [t.to_prefix() for t in chosen]


def choose_prefix(voice: Turn | None, turns: Sequence[Turn], budget: PrefixBudget) -> PrefixChoice:
    """Apply the policy above: the voice, then the newest whole turns that fit."""
    if voice is not None and not voice.usable_as_prefix:
        voice = None
    used = voice.frames if voice is not None else 0
    available = budget.context_frames - budget.reply_reserve_frames - budget.safety_frames - used
    chosen: list[Turn] = []
    for turn in reversed(turns):
        if not turn.usable_as_prefix:
            continue
        if budget.max_turns is not None and len(chosen) >= budget.max_turns:
            break
        if turn.frames > available:
            break
        chosen.append(turn)
        available -= turn.frames
        used += turn.frames
    chosen.reverse()
    room = budget.context_frames - used - budget.safety_frames
    return PrefixChoice(voice, tuple(chosen), used, room)


def words_that_fit(room_frames: int, budget: PrefixBudget) -> int:
    """How many words one generation may take, planning with `frames_per_word`."""
    return max(1, int(room_frames // budget.frames_per_word))
