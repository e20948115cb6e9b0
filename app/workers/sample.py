"""A voice sample's audio off the GUI thread: record it, read it from a file, play it, write it.

The voice dialog's and the dialogue panel's helper; like the other dialogs' helpers it is a
`WorkerHost`, so every call that can block (opening and closing a sound device, decoding a file,
writing one) runs on its thread and answers with a signal.

    audio = SampleAudio(parent)                  # owns a QThread with the worker on it
    audio.record("pulse", max_seconds=30.0)      # -> recordingStarted(name) or failed("record", why)
    audio.progress()                             # (seconds, loudest sample, full): poll from a QTimer
    audio.stop_recording()                       # -> recorded([N] float32 at 24 kHz)
    audio.read("voice.flac")                     # -> loaded(samples, path) or failed("read", why)
    n = audio.play(samples_or_path, "pulse")     # -> playFinished(n, "" or what went wrong)
    audio.stop_playing()                         # any thread: silent within 0.1 s, then playFinished
    audio.call(save, key, samples)               # -> called(result) or failed("call", why)
    audio.close()                                # stops what runs and ends the thread

The microphone's chunks arrive on the capture's reader thread, which appends them under a lock
and keeps the loudest sample since the GUI last looked; a capture that fails while recording
says so with `captureFailed`. Requests run one after another, in the order they were made.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, Signal, Slot

from app.audio.capture import Capture, CaptureChunk, CaptureConfig
from app.audio.files import read_audio
from app.audio.playback import Playback, PlaybackConfig
from app.core import SAMPLE_RATE
from app.errors import UserError
from app.workers.host import WorkerHost

log = logging.getLogger(__name__)

POLL_S = 0.1  # how often a playing sample looks for a stop request
CLOSE_WAIT_S = 10.0  # the longest `close()` waits for a request in progress (a file write)


def _message(what: str, exc: Exception) -> str:
    """What to show for a failure: the `UserError`'s or `OSError`'s text, or a surprise logged."""
    if isinstance(exc, (UserError, OSError)):
        return str(exc)
    log.error("%s failed", what, exc_info=exc)
    return f"{what} failed unexpectedly: {exc} (see the log, -v)"


class _SampleWorker(QObject):
    """Lives on the host's thread; see the module docstring."""

    recordingStarted = Signal(str)
    recorded = Signal(object)
    captureFailed = Signal(str)
    loaded = Signal(object, str)
    called = Signal(object)
    failed = Signal(str, str)
    playFinished = Signal(int, str)
    request_record = Signal(object, float)
    request_stop_recording = Signal()
    request_read = Signal(str)
    request_play = Signal(int, object, object)
    request_call = Signal(object, object)

    def __init__(self) -> None:
        super().__init__()
        self._capture: Capture | None = None
        self._lock = threading.Lock()
        self._parts: list[np.ndarray] = []  # written by the capture's reader thread
        self._captured = 0  # samples in _parts
        self._limit = 0  # samples kept at most
        self._peak = 0.0  # loudest sample since the GUI last looked
        self.playback: Playback | None = None  # the one playing now (flushed by stop_playing)
        self.stopped_upto = 0  # plays numbered up to this one are to stop
        self.request_record.connect(self._record)
        self.request_stop_recording.connect(self.stop_recording)
        self.request_read.connect(self._read)
        self.request_play.connect(self._play)
        self.request_call.connect(self._call)

    # -- recording -------------------------------------------------------------------------------
    @Slot(object, float)
    def _record(self, device: str | None, max_seconds: float) -> None:
        self.stop_recording(emit=False)
        with self._lock:
            self._parts, self._captured, self._peak = [], 0, 0.0
            self._limit = round(max_seconds * SAMPLE_RATE)
        try:
            capture = Capture(CaptureConfig(device=device, output_rates=(SAMPLE_RATE,)),
                              on_chunk=self._on_chunk, on_error=self._on_error)
            capture.start()
        except Exception as exc:  # noqa: BLE001 - every failure reaches the dialog
            self.failed.emit("record", _message("opening the microphone", exc))
            return
        self._capture = capture
        self.recordingStarted.emit(capture.device.name)

    def _on_chunk(self, chunk: CaptureChunk) -> None:  # the capture's reader thread
        x = chunk.at(SAMPLE_RATE)
        with self._lock:
            room = self._limit - self._captured
            if room <= 0 or not len(x):
                return
            x = x[:room]
            self._parts.append(np.array(x, dtype=np.float32))
            self._captured += len(x)
            self._peak = max(self._peak, chunk.peak)

    def _on_error(self, error: UserError) -> None:  # the capture's reader thread
        self.captureFailed.emit(str(error))

    def progress(self) -> tuple[float, float, bool]:
        """(seconds recorded, loudest sample since the last call, the limit is reached)."""
        with self._lock:
            peak, self._peak = self._peak, 0.0
            return self._captured / SAMPLE_RATE, peak, self._captured >= self._limit > 0

    @Slot()
    def stop_recording(self, emit: bool = True) -> None:
        """Close the microphone (what it still holds is delivered first) and emit `recorded`."""
        capture, self._capture = self._capture, None
        if capture is None:
            return
        try:
            capture.stop()
        except Exception:  # noqa: BLE001 - what was recorded is still handed over
            log.exception("closing the microphone failed")
        with self._lock:
            parts, self._parts = self._parts, []
        if emit:
            self.recorded.emit(np.concatenate(parts) if parts else np.zeros(0, np.float32))

    # -- files and playing -----------------------------------------------------------------------
    @Slot(str)
    def _read(self, path: str) -> None:
        try:
            audio, _ = read_audio(path, SAMPLE_RATE)
        except Exception as exc:  # noqa: BLE001
            self.failed.emit("read", _message("reading the file", exc))
            return
        self.loaded.emit(audio, path)

    @Slot(int, object, object)
    def _play(self, number: int, source, device: str | None) -> None:
        error = ""
        if number > self.stopped_upto:
            try:
                self._play_through(number, source, device)
            except Exception as exc:  # noqa: BLE001
                error = _message("playing", exc)
        self.playFinished.emit(number, error)

    def _play_through(self, number: int, source, device: str | None) -> None:
        audio = read_audio(source, SAMPLE_RATE)[0] if isinstance(source, (str, Path)) else source
        playback = Playback(PlaybackConfig(device=device)).start()
        self.playback = playback
        try:
            if number <= self.stopped_upto:  # stopped while the device opened
                return
            playback.write(audio, more=False)  # a stop's flush lets a waiting write return
            while number > self.stopped_upto and not playback.wait(timeout=POLL_S):
                pass
        finally:
            self.playback = None
            playback.stop()

    @Slot(object, object)
    def _call(self, fn: Callable, args: tuple) -> None:
        try:
            result = fn(*args)
        except Exception as exc:  # noqa: BLE001
            self.failed.emit("call", _message(getattr(fn, "__name__", "the request"), exc))
            return
        self.called.emit(result)


class SampleAudio(WorkerHost):
    """The voice dialog's and the dialogue panel's audio helper; see the module docstring."""

    recordingStarted = Signal(str)  # the microphone's name, once it records
    recorded = Signal(object)  # [N] float32 at 24 kHz: the recording, after stop_recording()
    captureFailed = Signal(str)  # the microphone stopped delivering while recording
    loaded = Signal(object, str)  # ([N] float32 at 24 kHz, the path) after read()
    called = Signal(object)  # what call()'s function returned
    failed = Signal(str, str)  # ("record", "read" or "call"; what went wrong and what to do)
    playFinished = Signal(int, str)  # (play number, "" when it ended or was stopped, else why)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(_SampleWorker(), "sample-audio", CLOSE_WAIT_S, parent)
        self._plays = 0
        for name in ("recordingStarted", "recorded", "captureFailed", "loaded", "called",
                     "failed", "playFinished"):
            getattr(self._worker, name).connect(getattr(self, name))

    def record(self, device: str | None, max_seconds: float) -> None:
        """Record from `device` (None: the default input), keeping at most `max_seconds`."""
        self._worker.request_record.emit(device, float(max_seconds))

    def progress(self) -> tuple[float, float, bool]:
        """(seconds recorded, loudest sample 0..1 since the last call, the limit is reached)."""
        return self._worker.progress()

    def stop_recording(self) -> None:
        self._worker.request_stop_recording.emit()

    def read(self, path: str | Path) -> None:
        """Decode an audio file to 24 kHz mono."""
        self._worker.request_read.emit(str(path))

    def play(self, source: np.ndarray | str | Path, device: str | None) -> int:
        """Play samples ([N] float32 at 24 kHz) or a file on `device`; returns the play's number,
        which `playFinished` carries."""
        self._plays += 1
        self._worker.request_play.emit(self._plays, source, device)
        return self._plays

    def stop_playing(self) -> None:
        """Silence what plays or waits to play (thread-safe); each ends with `playFinished`."""
        self._worker.stopped_upto = self._plays
        playback = self._worker.playback
        if playback is not None:
            playback.flush()

    def call(self, fn: Callable, *args) -> None:
        """Run `fn(*args)` (a file write, say) on the thread."""
        self._worker.request_call.emit(fn, args)

    def close(self) -> None:
        self.stop_playing()
        super().close()

    def _after_thread(self) -> None:
        self._worker.stop_recording(emit=False)  # the thread is gone: a direct call
