"""Checking the sound devices off the GUI thread: the device lists, a test tone, and a microphone
level meter.

    checker = AudioChecker(parent)             # owns a QThread with the worker on it
    checker.listed.connect(...)                # ([DeviceInfo], "" or why there is no list)
    checker.list_devices()
    checker.toneFinished.connect(...)          # "" when the tone was played, else what went wrong
    checker.play_tone("pulse")                 # output device name, None for the default
    checker.start_level("pulse")               # input device; then poll take_level() from a QTimer
    checker.stop_level(); checker.close()

Asking PortAudio for the devices, opening them and playing the tone run on the worker's thread
through queued signals. The
microphone's chunks arrive on the capture's reader thread, which only keeps the loudest peak
since the last look; the GUI reads it with `take_level()` at its own (timer) pace, so the meter
never repaints per audio block.
"""

from __future__ import annotations

import logging

import numpy as np
from PySide6.QtCore import QObject, Signal, Slot

from app.audio.capture import Capture, CaptureChunk, CaptureConfig
from app.audio.devices import list_devices
from app.audio.playback import Playback, PlaybackConfig
from app.core import SAMPLE_RATE
from app.errors import UserError
from app.workers.host import WorkerHost

log = logging.getLogger(__name__)

TONE_HZ = 440.0  # the test tone's pitch (A4)
TONE_S = 1.0  # the test tone's length
TONE_LEVEL = 0.3  # the test tone's amplitude (about -10 dBFS)


def tone(seconds: float = TONE_S, hz: float = TONE_HZ, rate: int = SAMPLE_RATE,
         level: float = TONE_LEVEL) -> np.ndarray:
    """A sine with 20 ms fades at both ends, [N] float32."""
    n = round(seconds * rate)
    x = level * np.sin(2 * np.pi * hz * np.arange(n) / rate)
    fade = min(n // 2, round(0.02 * rate))
    ramp = np.linspace(0.0, 1.0, fade, endpoint=False)
    x[:fade] *= ramp
    x[n - fade:] *= ramp[::-1]
    return x.astype(np.float32)


class _CheckWorker(QObject):
    """Lives on the checker's thread: plays tones, opens and closes the level capture."""

    toneFinished = Signal(str)
    levelStarted = Signal(str)
    levelFailed = Signal(str)
    listed = Signal(object, str)
    request_list = Signal()
    request_tone = Signal(object)
    request_level = Signal(object)
    request_level_stop = Signal()

    def __init__(self) -> None:
        super().__init__()
        self._capture: Capture | None = None
        self.peak = 0.0  # loudest sample since the GUI last looked (written by the reader thread)
        self.chunks = 0  # chunks the level capture delivered
        self.request_list.connect(self._list)
        self.request_tone.connect(self._play_tone)
        self.request_level.connect(self._start_level)
        self.request_level_stop.connect(self.stop_level)

    @Slot()
    def _list(self) -> None:
        try:
            self.listed.emit(list_devices(), "")
        except UserError as exc:
            self.listed.emit([], str(exc))
        except Exception as exc:  # noqa: BLE001 - report, never kill the worker thread
            log.exception("listing the sound devices failed")
            self.listed.emit([], f"Listing the sound devices failed: {exc}")

    @Slot(object)
    def _play_tone(self, device: str | None) -> None:
        clip = tone()
        try:
            with Playback(PlaybackConfig(device=device, samplerate=SAMPLE_RATE)) as pb:
                pb.write(clip, more=False)
                heard = pb.wait(timeout=TONE_S + 5.0)
            message = "" if heard else "The tone did not finish playing; check the output device."
        except UserError as exc:
            message = str(exc)
        except Exception as exc:  # noqa: BLE001 - report, never kill the worker thread
            log.exception("test tone failed")
            message = f"The test tone failed: {exc}"
        self.toneFinished.emit(message)

    @Slot(object)
    def _start_level(self, device: str | None) -> None:
        self.stop_level()
        self.peak, self.chunks = 0.0, 0
        try:
            cap = Capture(CaptureConfig(device=device, output_rates=()),
                          on_chunk=self._on_chunk, on_error=self._on_error)
            cap.start()
        except UserError as exc:
            self.levelFailed.emit(str(exc))
            return
        self._capture = cap
        self.levelStarted.emit(cap.device.name)

    def _on_chunk(self, chunk: CaptureChunk) -> None:  # the capture's reader thread
        self.chunks += 1
        if chunk.peak > self.peak:
            self.peak = chunk.peak

    def _on_error(self, error: UserError) -> None:  # the capture's reader thread
        self.levelFailed.emit(str(error))

    @Slot()
    def stop_level(self) -> None:
        cap, self._capture = self._capture, None
        if cap is not None:
            cap.stop()


class AudioChecker(WorkerHost):
    """The device dialog's helper; see the module docstring."""

    toneFinished = Signal(str)  # "" once the tone was heard, else what went wrong
    levelStarted = Signal(str)  # the microphone's name, once its level is being measured
    levelFailed = Signal(str)  # the microphone could not be opened, or stopped
    listed = Signal(object, str)  # ([DeviceInfo] PortAudio lists, "" or why there is none)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(_CheckWorker(), "audio-check", TONE_S + 10, parent)
        self._worker.toneFinished.connect(self.toneFinished)
        self._worker.levelStarted.connect(self.levelStarted)
        self._worker.levelFailed.connect(self.levelFailed)
        self._worker.listed.connect(self.listed)

    def list_devices(self) -> None:
        """Ask PortAudio for the sound devices; `listed` answers."""
        self._worker.request_list.emit()

    def play_tone(self, device: str | None) -> None:
        """Play a short 440 Hz tone on `device` (None: the default output)."""
        self._worker.request_tone.emit(device)

    def start_level(self, device: str | None) -> None:
        """Start measuring `device`'s level (None: the default input)."""
        self._worker.request_level.emit(device)

    def stop_level(self) -> None:
        self._worker.request_level_stop.emit()

    def take_level(self) -> float:
        """The loudest sample (0..1) since the last call; resets it."""
        peak = self._worker.peak
        self._worker.peak = 0.0
        return peak

    @property
    def chunks(self) -> int:
        """Audio chunks the level check received so far."""
        return self._worker.chunks

    def _after_thread(self) -> None:
        self._worker.stop_level()  # stop the level check (the thread is gone: a direct call)
