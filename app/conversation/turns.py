"""The conversation as data: turns with speakers, timed words and Mimi codes.

Speaker 1 is the character (`[S1]` in Dia2 scripts), speaker 2 the person (`[S2]`). A turn's word
times are on the turn's own audio (0 = its first sample), which is what a Dia2 prefix needs; its
`timeline` says where that audio lies in the session recording.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import torch

from app.brains.base import Message, Role
from app.core import FRAME_RATE, Word
from app.tts.prefix import PrefixTurn

CHARACTER = 1  # Dia2's [S1]
PERSON = 2  # Dia2's [S2]


@dataclass(frozen=True)
class Turn:
    """One finished turn."""

    index: int  # position in the conversation (0-based); -1 for the voice sample
    speaker: int  # CHARACTER (1) or PERSON (2)
    words: tuple[Word, ...]  # what was said (for the character: what was heard), times on its audio
    codes: torch.Tensor | None = field(default=None, repr=False)  # Mimi codes long [K, T] (CPU)
    timeline: float = 0.0  # where the turn's audio starts in the session recording (s)
    duration: float = 0.0  # length of the turn's audio (s)
    interrupted: bool = False  # the character was cut off by the person
    timings: dict | None = None  # latency of the reply (`TurnTimings.as_dict()`), character only

    @property
    def text(self) -> str:
        return " ".join(w.text for w in self.words)

    @property
    def frames(self) -> int:
        """Mimi frames of the turn (0 without codes)."""
        return 0 if self.codes is None else int(self.codes.shape[1])

    @property
    def usable_as_prefix(self) -> bool:
        """A prefix turn needs codes and at least one word."""
        return self.frames > 0 and bool(self.words)

    def to_prefix(self) -> PrefixTurn:
        assert self.codes is not None
        return PrefixTurn(self.speaker, self.words, codes=self.codes)

    def cropped(self, max_frames: int) -> Turn:
        """The turn cut to at most `max_frames`, keeping only words that end before the cut."""
        if self.frames <= max_frames:
            return self
        limit = max_frames / FRAME_RATE
        words = tuple(w for w in self.words if w.end <= limit)
        assert self.codes is not None
        return replace(self, words=words, codes=self.codes[:, :max_frames].clone(),
                       duration=min(self.duration, limit))

    def to_json(self) -> dict:
        """The turn as transcript.json stores it (word times on the session timeline)."""
        return {
            "index": self.index,
            "speaker": "character" if self.speaker == CHARACTER else "person",
            "tag": f"S{self.speaker}",
            "start": round(self.timeline, 3),
            "end": round(self.timeline + self.duration, 3),
            "text": self.text,
            "interrupted": self.interrupted,
            "words": [
                {"word": w.text, "start": round(self.timeline + w.start, 3),
                 "end": round(self.timeline + w.end, 3)}
                for w in self.words
            ],
            **({"timings": self.timings} if self.timings else {}),
        }


class Conversation:
    """Turns in order plus the character's voice. Thread-safe for one writer, many readers."""

    def __init__(self, voice: Turn | None = None) -> None:
        self._lock = threading.Lock()
        self._turns: list[Turn] = []
        self.voice = voice  # the voice sample as a speaker-1 turn (None: not locked yet)
        self.voice_locked = False  # True when `voice` came from the character's first reply

    @property
    def turns(self) -> list[Turn]:
        with self._lock:
            return list(self._turns)

    def next_index(self) -> int:
        with self._lock:
            return len(self._turns)

    def add(self, turn: Turn) -> Turn:
        """Append `turn` (its index is set to its position) and return it."""
        with self._lock:
            turn = replace(turn, index=len(self._turns))
            self._turns.append(turn)
            return turn

    def lock_voice(self, turn: Turn, max_frames: int) -> bool:
        """Without a voice sample, make `turn` (a whole character reply) the voice. Returns
        True when the voice was locked now."""
        if self.voice is not None or turn.speaker != CHARACTER or turn.interrupted:
            return False
        if not turn.usable_as_prefix:
            return False
        voice = turn.cropped(max_frames)
        if not voice.words:
            return False
        self.voice = replace(voice, index=-1)
        self.voice_locked = True
        return True

    def messages(self, system_prompt: str | None) -> list[Message]:
        """The history as the brain sees it: a system prompt, then user/assistant turns.
        Turns without words are left out; consecutive turns of one side are joined."""
        out: list[Message] = [Message("system", system_prompt)] if system_prompt else []
        for turn in self.turns:
            if not turn.words:
                continue
            role: Role = "assistant" if turn.speaker == CHARACTER else "user"
            text = turn.text + (" ..." if turn.interrupted else "")
            if len(out) and out[-1].role == role:
                out[-1] = Message(role, f"{out[-1].text} {text}")
            else:
                out.append(Message(role, text))
        return out


def words_from(items: Sequence) -> tuple[Word, ...]:
    """Words from objects with text/start/end (recognised words) or (text, start, end) tuples."""
    out = []
    for item in items:
        if isinstance(item, Word):
            out.append(item)
        elif isinstance(item, (tuple, list)):
            out.append(Word(str(item[0]), float(item[1]), float(item[2])))
        else:
            out.append(Word(str(item.text), float(item.start), float(item.end)))
    return tuple(w for w in out if w.text.strip())
