"""A session: one recorded conversation, running (models + brain + recorder + pipeline).

`Session.open(...)` wires everything for one conversation (the live terminal chat, the headless
mode and the window all use it; `app.conversation.setup` holds the parts it wires, and
`app.conversation.live.LiveSession` is a session on the sound devices). Closing it finishes the
recording.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.conversation.budget import PrefixBudget
from app.conversation.character import Character
from app.conversation.events import Error, Event
from app.conversation.options import SessionOptions
from app.conversation.pipeline import PipelineConfig, TurnPipeline
from app.conversation.recorder import SessionRecorder
from app.conversation.setup import (
    Transcriber,
    make_session_brain,
    open_models,
    start_notes,
    voice_turn,
)
from app.conversation.sinks import PlaybackSink
from app.conversation.timeline import Timeline
from app.conversation.turns import Conversation

if TYPE_CHECKING:
    from app.brains.base import Brain
    from app.tts.engine import Dia2Engine

log = logging.getLogger(__name__)


class Session:
    """Everything one conversation needs, started. Close it to finish the recording."""

    def __init__(self, pipeline: TurnPipeline, recorder: SessionRecorder | None, brain: Brain) -> None:
        self.pipeline = pipeline
        self.recorder = recorder
        self.brain = brain
        self._closed = False

    @classmethod
    def open(cls, character: Character, sink: PlaybackSink, *, out: Path | None,
             opts: SessionOptions | None = None, models: tuple[Dia2Engine, Transcriber] | None = None,
             brain: Brain | None = None, on_event: Callable[[Event], None] | None = None,
             realtime: bool = True, gap_s: float = 0.4, config: PipelineConfig | None = None,
             budget_overrides: dict[str, Any] | None = None, clock: Callable[[], float] | None = None,
             replace: bool = False) -> Session:
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

    def __exit__(self, *exc: object) -> None:
        self.close()
