"""Rendering a dialogue off the GUI thread: the worker behind the window's dialogue panel.

    renderer = DialogueRenderer(parent)      # owns a QThread with the worker on it
    renderer.progress.connect(...)           # app.dialogue.progress.Progress, on the GUI thread
    renderer.finished.connect(...)           # an app.dialogue.episode.EpisodeResult
    renderer.failed.connect(...)             # what went wrong and what to do
    renderer.cancelled.connect(...)          # stopped on request; the finished generations stay
    renderer.render(job)                     # a DialogueJob
    renderer.cancel()                        # any thread; takes effect within one frame
    renderer.close()

The render itself is `app.dialogue.episode.render_episode`, always with `resume=True`: a render
stopped by Cancel (or by closing the window) continues where it stopped when started again with
the same script, voices and seed. The loaded models are kept for the next render.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path

from PySide6.QtCore import QObject, Signal, Slot

from app.errors import UserError
from app.workers.host import WorkerHost

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DialogueJob:
    """One render asked for by the panel."""

    script: str  # the script's text
    source: str  # its name (file name, or "the script" when pasted)
    out: Path  # the mix's path; the tracks, transcript and subtitles go beside it
    tts: object  # the `TtsChoice` of the models to load
    voices: dict = field(default_factory=dict)  # speaker -> the voice sample's audio file (Path)
    seed: int | None = None  # None: drawn once and kept for a resume


class _RenderWorker(QObject):
    """Lives on the renderer's thread: loads the models (once) and renders jobs."""

    progress = Signal(object)
    finished = Signal(object)
    failed = Signal(str)
    cancelled = Signal()
    request = Signal(object)

    def __init__(self, cancel: threading.Event) -> None:
        super().__init__()
        self._cancel = cancel
        self._engine = None  # (TtsChoice, engine) of the last render
        self.request.connect(self._run)

    def _load(self, choice):
        if self._engine is None or self._engine[0] != choice:
            from app.assets.tts_loader import load_tts

            self._engine = None
            self._engine = (choice, load_tts(choice))
        return self._engine[1]

    @Slot(object)
    def _run(self, job: DialogueJob) -> None:
        from app.dialogue.episode import EpisodeRequest, make_transcriber, prepare, render_episode
        from app.dialogue.render import RenderCancelled
        from app.dialogue.voices import VoiceSource
        from app.tts.options import GenerationOptions

        self._cancel.clear()
        try:
            voices = {speaker: VoiceSource(Path(path)) for speaker, path in job.voices.items()}
            request = EpisodeRequest(job.script, job.source, job.out, voices,
                                     GenerationOptions(seed=job.seed), resume=True,
                                     voice_flags={1: "a words file", 2: "a words file"})
            prepared = prepare(request)
            engine = self._load(job.tts)
            result = render_episode(prepared, engine, transcribe=make_transcriber(job.tts.demo),
                                    on_progress=self.progress.emit, cancel=self._cancel)
        except RenderCancelled:
            self.cancelled.emit()
            return
        except UserError as exc:
            self.failed.emit(str(exc))
            return
        except Exception as exc:  # noqa: BLE001 - the panel must learn of every failure
            log.exception("rendering the dialogue failed")
            self.failed.emit(f"rendering failed unexpectedly: {exc} (see the log, -v)")
            return
        self.finished.emit(result)


class DialogueRenderer(WorkerHost):
    """Renders dialogues one after another on a thread of its own."""

    progress = Signal(object)  # Progress
    finished = Signal(object)  # EpisodeResult
    failed = Signal(str)  # an actionable message
    cancelled = Signal()  # stopped on request

    def __init__(self, parent: QObject | None = None) -> None:
        self._cancel_event = threading.Event()
        super().__init__(_RenderWorker(self._cancel_event), "dialogue-render", 30.0, parent)
        self._worker.progress.connect(self.progress)
        self._worker.finished.connect(self.finished)
        self._worker.failed.connect(self.failed)
        self._worker.cancelled.connect(self.cancelled)

    def render(self, job: DialogueJob) -> None:
        """Start rendering `job` (after any render in progress)."""
        self._worker.request.emit(job)

    def cancel(self) -> None:
        """Stop the render in progress (thread-safe); it ends with `cancelled`."""
        self._cancel_event.set()

    def close(self) -> None:
        self.cancel()
        super().close()
