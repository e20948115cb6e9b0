"""Typed events the conversation pipeline reports, the same for the window, the terminal chat and
the headless mode.

Every event is a frozen dataclass. Times named `*_s` are seconds; `timeline` values are seconds on
the session's timeline (the recording's time axis, 0 = session start); `clock` values are on the
pipeline's latency clock (`time.perf_counter` unless another is passed in).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING

import numpy as np

from app.core import Word

if TYPE_CHECKING:  # turns imports torch; the events stay light
    from app.conversation.turns import Turn


class State(str, Enum):  # noqa: UP042 - StrEnum would change what str(state) gives
    """What the pipeline is doing."""

    IDLE = "idle"  # created, not started
    LISTENING = "listening"  # waiting for the person's next turn
    RECOGNISING = "recognising"  # person's turn ended: recognising words, encoding codes
    THINKING = "thinking"  # waiting for the brain's first words
    SPEAKING = "speaking"  # the character's audio is being generated / played
    STOPPED = "stopped"  # the pipeline was stopped


@dataclass(frozen=True)
class StateChanged:
    """The pipeline moved from one state to another."""

    state: State  # the new state
    previous: State  # the state before


@dataclass(frozen=True)
class PersonWords:
    """The person's turn was recognised."""

    turn: int  # index of the turn in the conversation
    words: tuple[Word, ...]  # words with times on the turn's own audio (0 = its first sample)
    timeline: float  # where the turn's audio starts on the session timeline (s)

    @property
    def text(self) -> str:
        return " ".join(w.text for w in self.words)


@dataclass(frozen=True)
class ReplyWord:
    """A word of the character's reply, as soon as its start in the audio is known."""

    turn: int  # index of the character's turn
    word: str  # the word as spoken (cleaned for speech)
    start: float  # seconds from the start of the reply's audio
    timeline: float | None  # where it lies on the session timeline, once the reply is placed


@dataclass(frozen=True)
class Hearing:
    """Live sessions: the person started (`active`) or stopped talking, by voice activity or the
    talk key. Reported before the turn is recognised, so a window can say "hearing you"."""

    active: bool  # the person is talking now


@dataclass(frozen=True)
class ReplyPlaced:
    """The first sample of a reply reached the speaker: the reply starts at `timeline`.

    From here on a reply word at `start` is heard at `timeline + start` on the session timeline.
    """

    turn: int  # index of the character's turn
    timeline: float  # where the reply's first sample lies on the session timeline (s)


@dataclass(frozen=True)
class AudioLevel:
    """Level of a short stretch of audio, for meters and waveforms."""

    source: str  # "character" or "person"
    rms: float  # root mean square, 0..1
    peak: float  # largest absolute sample, 0..1
    timeline: float | None  # where the stretch starts on the session timeline, if known


@dataclass(frozen=True)
class OutputChunk:
    """A frame of the character's audio handed to the playback sink."""

    turn: int  # index of the character's turn
    offset: int  # first sample's index within the reply (24 kHz)
    pcm: np.ndarray = field(repr=False)  # float32 [1920] at 24 kHz


@dataclass(frozen=True)
class TurnTimings:
    """Latency of one reply, each stage in seconds after the end of the person's speech.

    None marks a stage that did not happen (no words, brain error, interrupted before audio).
    """

    turn: int  # index of the character's turn
    words_ready_s: float | None  # person's words recognised and Mimi codes encoded
    first_text_s: float | None  # the brain's first piece of text arrived
    first_frame_s: float | None  # Dia2 produced the first audio frame
    first_heard_s: float | None  # the first sample reached the speaker (the sink's clock)
    recognise_s: float = 0.0  # time spent in speech recognition
    encode_s: float = 0.0  # time spent encoding the person's audio to Mimi codes
    frames: int = 0  # audio frames generated for the reply
    ms_per_frame: float = 0.0  # average generation time per frame (model step + decode)
    segments: int = 0  # generations the reply needed (>1 when it was split)

    def as_dict(self) -> dict:
        out = {k: getattr(self, k) for k in self.__dataclass_fields__}
        return {k: round(v, 4) if isinstance(v, float) else v for k, v in out.items()}


@dataclass(frozen=True)
class Interrupted:
    """The person spoke over the character: playback stopped, generation cancelled."""

    turn: int  # index of the character's turn that was cut
    heard_s: float  # seconds of the reply the person heard
    words_kept: int  # words of the reply kept in the transcript


@dataclass(frozen=True)
class TurnAdded:
    """A turn is final and in the conversation (and the transcript)."""

    turn: Turn  # the turn, with its words and codes


@dataclass(frozen=True)
class Error:
    """Something went wrong; `fatal` False means the session goes on."""

    message: str  # what happened and what to do, for the user
    where: str  # "brain", "recognition", "tts", "recording", "audio", "pipeline"
    fatal: bool = False  # the pipeline stopped because of it


Event = (StateChanged | Hearing | PersonWords | ReplyWord | ReplyPlaced | AudioLevel | OutputChunk | TurnTimings
         | Interrupted | TurnAdded | Error)


def level_of(pcm: np.ndarray, source: str, timeline: float | None = None) -> AudioLevel:
    """An `AudioLevel` event for a stretch of float32 samples."""
    x = np.asarray(pcm, dtype=np.float32)
    if x.size == 0:
        return AudioLevel(source, 0.0, 0.0, timeline)
    return AudioLevel(source, float(np.sqrt(np.mean(x * x))), float(np.max(np.abs(x))), timeline)


def event_dict(event: Event) -> dict | None:
    """A JSON-ready dict of an event (None for high-rate audio events)."""
    if isinstance(event, (OutputChunk, AudioLevel)):
        return None
    if isinstance(event, StateChanged):
        return {"event": "state", "state": event.state.value, "previous": event.previous.value}
    if isinstance(event, PersonWords):
        return {"event": "person_words", "turn": event.turn, "text": event.text,
                "timeline": round(event.timeline, 3),
                "words": [[w.text, round(w.start, 3), round(w.end, 3)] for w in event.words]}
    if isinstance(event, ReplyWord):
        return {"event": "reply_word", "turn": event.turn, "word": event.word,
                "start": round(event.start, 3)}
    if isinstance(event, ReplyPlaced):
        return {"event": "reply_placed", "turn": event.turn, "timeline": round(event.timeline, 3)}
    if isinstance(event, TurnTimings):
        return {"event": "timings", **event.as_dict()}
    if isinstance(event, Interrupted):
        return {"event": "interrupted", "turn": event.turn, "heard_s": round(event.heard_s, 3),
                "words_kept": event.words_kept}
    if isinstance(event, TurnAdded):
        return {"event": "turn", **event.turn.to_json()}
    if isinstance(event, Error):
        return {"event": "error", "where": event.where, "message": event.message, "fatal": event.fatal}
    return None
