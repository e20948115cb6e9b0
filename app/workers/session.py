"""The Qt boundary of a live conversation: a worker that owns the `LiveSession` off the GUI thread.

    worker = SessionWorker()                  # then worker.moveToThread(thread); thread.start()
    worker.eventReceived.connect(...)         # pipeline events, on the GUI thread
    worker.request_start.emit(character, opts, config)   # loads models on the worker thread
    worker.press_to_talk() ...                # quick commands, straight to the session
    worker.request_stop.emit()

Starting (model loading, opening devices) and stopping (finishing the recording) run on the
worker's thread through queued signals, so the window never waits for them; `sessionLoading`
says what is being loaded before each step, so the window can show the progress, and
`modelsMissing` says which models a first run lacks (the window offers their download). The quick
commands (talk key, mute, stop the character) call the session directly: they only set flags or flush the
playback buffer, and must not queue behind a model load. High-rate audio never becomes a signal:
the microphone's levels and the character's samples are decimated into a `LevelTape`, which the
waveform reads at the display rate.
"""

from __future__ import annotations

import logging
import threading

from PySide6.QtCore import QObject, Signal, Slot

from app.conversation.events import AudioLevel, OutputChunk, ReplyPlaced
from app.core import SAMPLE_RATE
from app.errors import UserError
from app.workers.tape import LevelTape

log = logging.getLogger(__name__)



class SessionWorker(QObject):
    """Runs one `LiveSession` at a time; see the module docstring.

    Args:
        tape: where audio levels go (the waveform's data).
        session_factory: builds the session (`LiveSession` by default; tests may pass another
            factory with the same signature, e.g. to add keyword arguments).
    """

    eventReceived = Signal(object)  # a pipeline event (not the high-rate audio ones)
    sessionStarted = Signal(str)  # the recording folder
    sessionFailed = Signal(str)  # could not start, or a fatal error: what to do
    sessionStopped = Signal(str)  # the recording folder, finished
    sessionLoading = Signal(str, int, int)  # (what is being loaded, step, of steps), before each
    modelsMissing = Signal(object, object, object, object)  # (repo ids, character, opts, config)
    request_start = Signal(object, object, object)  # (character, SessionOptions, LiveConfig)
    request_stop = Signal()

    def __init__(self, tape: LevelTape | None = None, session_factory=None) -> None:
        super().__init__()
        self.tape = tape or LevelTape()
        self._factory = session_factory
        self.live = None
        self._models = None  # (key, (engine, recognizer)): reused across sessions
        self._lock = threading.Lock()
        self._placed: dict[int, float] = {}  # character turn -> timeline start
        self._pending: dict[int, list[tuple[int, object]]] = {}  # turn -> [(offset, pcm)]
        self.request_start.connect(self._start)
        self.request_stop.connect(self.stop)

    # -- on the worker thread --------------------------------------------------------------------
    @Slot(object, object, object)
    def _start(self, character, opts, config) -> None:
        stopped = self._stop_quietly()
        key = (opts.demo, opts.model, opts.mimi, opts.device, opts.precision, opts.asr_model)
        load = self._models is None or self._models[0] != key
        total = 4 if load else 1
        steps = iter(range(1, total + 1))

        def step(what: str) -> None:
            self.sessionLoading.emit(what, next(steps), total)

        if load:
            step("the model libraries (torch)")  # the first import of setup brings them in
        from app.conversation.live import LiveSession
        from app.conversation.setup import open_models

        factory = self._factory or LiveSession
        try:
            if load and not opts.demo and self._missing(character, opts, config, stopped):
                return
            if load:
                self._models = None
                self._models = (key, open_models(opts, on_step=step))
            step("the reply model, the voice sample and the sound devices")
            live = factory(character, opts, config, on_event=self._on_event, models=self._models[1])
            live.start()
        except UserError as exc:
            self.sessionFailed.emit(str(exc))
            return
        except Exception as exc:  # noqa: BLE001 - the window must learn of every failure
            log.exception("starting the session failed")
            self.sessionFailed.emit(f"could not start the conversation: {exc} (see the log, -v)")
            return
        with self._lock:
            self.live = live
        self.sessionStarted.emit(str(live.out))

    def _missing(self, character, opts, config, stopped: str | None) -> bool:
        """Whether models are missing from the cache; if so, `modelsMissing` says which (the
        window offers their download, then asks again), after `sessionStopped` for the session
        `stopped` to make room. Choosing Dia2 for "auto" asks torch about the GPU, so this runs
        here, not on the GUI thread."""
        from app.assets.setup import missing_models

        missing = missing_models(opts, character)
        if missing:
            if stopped is not None:
                self.sessionStopped.emit(stopped)
            self.modelsMissing.emit(missing, character, opts, config)
        return bool(missing)

    @Slot()
    def stop(self) -> None:
        """End the session and finish its recording (on the worker's thread)."""
        folder = self._stop_quietly()
        if folder is not None:
            self.sessionStopped.emit(folder)

    @Slot()
    def finish(self) -> None:
        """Stop, then hand the worker back to the GUI thread before its own thread ends (so it is
        destroyed, with its timers, where it lives)."""
        self.stop()
        from PySide6.QtCore import QCoreApplication

        self.moveToThread(QCoreApplication.instance().thread())

    def _stop_quietly(self) -> str | None:
        with self._lock:
            live, self.live = self.live, None
        if live is None:
            return None
        try:
            live.stop()
        except Exception:  # noqa: BLE001 - stopping must finish the recording regardless
            log.exception("stopping the session failed")
        self._placed.clear()
        self._pending.clear()
        return str(live.out)

    # -- events, on the session's threads ---------------------------------------------------------
    def _on_event(self, event) -> None:
        if isinstance(event, AudioLevel):
            if event.source == "person" and event.timeline is not None:
                self.tape.add_level("person", event.timeline, event.peak)
            return
        if isinstance(event, OutputChunk):
            self._character_audio(event.turn, event.offset, event.pcm)
            return
        if isinstance(event, ReplyPlaced):
            self._placed[event.turn] = event.timeline
            for offset, pcm in self._pending.pop(event.turn, []):
                self._character_audio(event.turn, offset, pcm)
        if getattr(event, "fatal", False):
            self.sessionFailed.emit(event.message)
        self.eventReceived.emit(event)

    def _character_audio(self, turn: int, offset: int, pcm) -> None:
        start = self._placed.get(turn)
        if start is None:  # not heard yet: its place on the timeline comes with ReplyPlaced
            self._pending.setdefault(turn, []).append((offset, pcm))
        else:
            self.tape.add_samples("character", start + offset / SAMPLE_RATE, pcm)

    # -- quick commands, from the GUI thread -------------------------------------------------------
    def _call(self, name: str, *args):
        with self._lock:
            live = self.live
        if live is None:
            return None
        try:
            return getattr(live, name)(*args)
        except UserError as exc:
            self.sessionFailed.emit(str(exc))
        return None

    def press_to_talk(self) -> None:
        self._call("press_to_talk")

    def release_to_talk(self) -> None:
        self._call("release_to_talk")

    def set_muted(self, on: bool) -> None:
        self._call("set_muted", on)

    def set_hands_free(self, on: bool) -> None:
        self._call("set_hands_free", on)

    def stop_speaking(self) -> None:
        self._call("stop_speaking")

    def say(self, text: str) -> None:
        self._call("say", text)

    def timeline_now(self) -> float | None:
        """Seconds since the session began, or None without a session."""
        with self._lock:
            live = self.live
        return None if live is None else live.timeline_now()

    @property
    def running(self) -> bool:
        return self.live is not None
