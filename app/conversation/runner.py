"""A running session: models + brain + recorder + pipeline, and the headless mode.

`Session.open(...)` wires everything for one conversation (the live terminal chat, the headless
mode and the window all use it); `run_headless(session, files)` plays the person's turns from
audio files, one after the other, with no sound device.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from app.conversation.budget import PrefixBudget
from app.conversation.character import Character
from app.conversation.events import Error, Event
from app.conversation.pipeline import PipelineConfig, TurnPipeline
from app.conversation.recorder import SessionRecorder
from app.conversation.session import (
    SessionOptions,
    make_session_brain,
    open_models,
    start_notes,
    voice_turn,
)
from app.conversation.timeline import Timeline
from app.conversation.turns import Conversation
from app.errors import UserError

log = logging.getLogger(__name__)


class Session:
    """Everything one conversation needs, started. Close it to finish the recording."""

    def __init__(self, pipeline: TurnPipeline, recorder: SessionRecorder | None, brain) -> None:
        self.pipeline = pipeline
        self.recorder = recorder
        self.brain = brain
        self._closed = False

    @classmethod
    def open(cls, character: Character, sink, *, out: Path | None, opts: SessionOptions | None = None,
             models=None, brain=None, on_event: Callable[[Event], None] | None = None,
             realtime: bool = True, gap_s: float = 0.4, config: PipelineConfig | None = None,
             budget_overrides: dict | None = None, clock=None, replace: bool = False) -> Session:
        """Load (or take) the models and the brain, make the voice turn, open the recording.

        `models` is an (engine, recognizer) pair to reuse; `brain` a brain to use instead of the
        one `opts` names; `replace` records over a session already in `out` (else refused).
        """
        import time

        clock = clock or time.perf_counter
        opts = opts or SessionOptions()
        config = config or PipelineConfig()
        engine, recognizer = models if models is not None else open_models(opts)
        budget = PrefixBudget.for_engine(engine, **(budget_overrides or {}))
        voice = voice_turn(character, engine, recognizer, budget.voice_max_frames)
        brain = brain if brain is not None else make_session_brain(character, opts)
        load = getattr(brain, "load", None)
        if callable(load):  # a local model loads now, not during the first reply
            load()
        emit = on_event or (lambda e: None)
        notes = start_notes(opts, engine, recognizer)
        if notes:  # one message, so the window's banner shows them all
            emit(Error(" ".join(notes), "device"))
        recorder = None
        if out is not None:
            recorder = SessionRecorder(
                out,
                meta={"character": {"name": character.name, "file": str(character.source or ""),
                                    "voice": str(character.voice or ""), "voice_locked": voice is None},
                      "person_name": "You", "demo": opts.demo, "mode": "live" if realtime else "headless"},
                on_error=lambda msg: emit(Error(msg, "recording")), replace=replace)
        pipeline = TurnPipeline(
            engine, recognizer, brain, character, sink, conversation=Conversation(voice),
            recorder=recorder, on_event=on_event, clock=clock,
            timeline=Timeline(clock, realtime=realtime, gap_s=gap_s), budget=budget, config=config)
        return cls(pipeline.start(), recorder, brain)

    def close(self) -> None:
        """Stop the pipeline and join its threads, close the brain (joining its threads), finish
        the recording. Safe to call twice."""
        if self._closed:
            return
        self._closed = True
        self.pipeline.stop()
        try:
            self.brain.close()
        except Exception:  # noqa: BLE001 - closing must not hide the session's result
            log.exception("closing the brain failed")
        if self.recorder is not None:
            self.recorder.close()

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def read_turns(files: Sequence[str | Path]) -> list[np.ndarray]:
    """The person's turns from audio files, 24 kHz mono (`UserError` for a missing, unreadable
    or empty file): read before any model loads."""
    from app.audio.files import read_audio

    audios = []
    for f in files:
        audio, _ = read_audio(f, 24000)
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
