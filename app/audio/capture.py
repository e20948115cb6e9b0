"""Microphone capture: a PortAudio input stream into a ring buffer, a reader thread that resamples.

The stream runs at the device's own rate. Its callback copies channel 0 into a preallocated
`RingBuffer`, notes when the block was captured and counts overflows; nothing else (no allocation
of buffers, no logging, no locks). A reader thread drains the ring every few milliseconds,
resamples to 16 kHz (voice activity, recognition) and 24 kHz (the Mimi encoder) with soxr, and
hands each `CaptureChunk`, which keeps the original samples too, to the consumer.

A device that stops or errors mid-stream ends the reader with a `UserError` passed to `on_error`
(or raised from `get`), so the program can tell the user and carry on.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import ModuleType

import numpy as np

from app.audio.clock import BlockClock
from app.audio.devices import AudioStream, DeviceInfo, StreamFactory, open_setup
from app.audio.resample import StreamResampler
from app.core import ASR_RATE, SAMPLE_RATE
from app.errors import UserError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CaptureConfig:
    """How to open the microphone."""

    device: str | int | None = None  # name (or part of it), index, or None for the default
    samplerate: int | None = None  # device rate in Hz; None uses the device's default
    block_ms: float = 20.0  # PortAudio block length; also the reader's pace
    buffer_seconds: float = 4.0  # ring buffer length; the reader may fall this far behind
    output_rates: tuple[int, ...] = (ASR_RATE, SAMPLE_RATE)  # rates the reader resamples to


@dataclass(frozen=True)
class CaptureChunk:
    """A stretch of captured audio at the device rate and at each output rate.

    `start` counts device-rate samples since the stream opened; `starts[r]` counts samples at
    rate r. Consecutive chunks are contiguous at every rate.
    """

    start: int  # index of samples[0] in the device-rate stream
    rate: int  # the device rate in Hz
    samples: np.ndarray  # [N] float32 at the device rate
    by_rate: Mapping[int, np.ndarray] = field(default_factory=dict)  # rate -> [M] float32
    starts: Mapping[int, int] = field(default_factory=dict)  # rate -> index of its first sample
    peak: float = 0.0  # largest absolute sample in this chunk
    rms: float = 0.0  # root mean square of this chunk

    def at(self, rate: int) -> np.ndarray:
        """Samples at `rate` (the device rate or one of the configured output rates)."""
        return self.samples if rate == self.rate else self.by_rate[rate]


class Capture:
    """An open microphone. Use as a context manager or call `start` / `stop`.

    Args:
        config: what to open.
        on_chunk: called on the reader thread with every `CaptureChunk`; when None the chunks
            queue up for `get`.
        on_error: called on the reader thread with a `UserError` if the device fails mid-stream.
        sd: the `sounddevice` module (or a stand-in with the same API).
        stream_factory: builds the input stream; defaults to `sd.InputStream`.
    """

    def __init__(
        self,
        config: CaptureConfig = CaptureConfig(),
        on_chunk: Callable[[CaptureChunk], None] | None = None,
        on_error: Callable[[UserError], None] | None = None,
        sd: ModuleType | None = None,
        stream_factory: StreamFactory | None = None,
    ) -> None:
        self.config = config
        self.setup = open_setup(config.device, "input", config.samplerate, config.block_ms, sd)
        self._factory = stream_factory
        self._on_chunk = on_chunk
        self._on_error = on_error
        self._queue: queue.Queue[CaptureChunk | UserError] = queue.Queue()
        self.device: DeviceInfo = self.setup.device
        self.channels = self.setup.channels
        self.rate = self.setup.rate
        self.blocksize = self.setup.blocksize
        self.ring = self.setup.ring(config.buffer_seconds)
        # written by the callback: stream position at block start, samples, ADC time
        self.clock = BlockClock(
            self.rate, max(64, round(config.buffer_seconds * 4000 / config.block_ms))
        )
        self._callback_sample = 0
        self.device_overflows = 0  # blocks PortAudio reported as overflowed (input lost)
        self.error: UserError | None = None
        self._stream: AudioStream | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._finished = False

    # -- the real-time callback (PortAudio thread) ----------------------------------------------
    def _callback(self, indata, frames, time_info, status) -> None:
        if status.input_overflow:
            self.device_overflows += 1
        self.clock.record(self._callback_sample, frames, time_info.inputBufferAdcTime)
        self._callback_sample += frames
        self.ring.write(indata[:, 0])

    def _finished_callback(self) -> None:
        self._finished = True

    # -- control ---------------------------------------------------------------------------------
    def start(self) -> Capture:
        """Open the stream and start the reader thread."""
        with self.setup.opening():
            self._stream = self.setup.stream(self._factory, self._callback,
                                             finished_callback=self._finished_callback)
            self._stream.start()
        log.info(
            "capturing from %r at %d Hz, %d channel(s)", self.device.name, self.rate, self.channels
        )
        self._stop.clear()
        self._thread = threading.Thread(target=self._reader, name="capture-reader", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop the reader (delivering what was captured) and close the stream."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if self._stream is not None:
            self.setup.close(self._stream)  # the device may already be gone
            self._stream = None

    def __enter__(self) -> Capture:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def overruns(self) -> int:
        """Samples lost because the reader fell behind the ring buffer."""
        return self.ring.overrun_samples

    def time_of(self, sample: int) -> float | None:
        """Stream time (s) at which device-rate `sample` reached the converter; None once it is
        older than the clock's history (about four ring-buffer lengths)."""
        return self.clock.time_of(sample)

    def get(self, timeout: float | None = None) -> CaptureChunk | None:
        """Next chunk when no `on_chunk` was given; None on timeout. Raises a device error."""
        try:
            item = self._queue.get(timeout=timeout)
        except queue.Empty:
            return None
        if isinstance(item, UserError):
            raise item
        return item

    # -- the reader thread -----------------------------------------------------------------------
    def _reader(self) -> None:
        resamplers = {r: StreamResampler(self.rate, r) for r in self.config.output_rates}
        starts = dict.fromkeys(self.config.output_rates, 0)
        pos = 0
        seen_lost = 0
        pace = self.blocksize / self.rate / 2
        while True:
            stopping = self._stop.is_set()
            total_lost = self.ring.overrun_samples
            lost, seen_lost = total_lost - seen_lost, total_lost
            data = self.ring.read()
            if lost:
                # The ring was full when samples were refused, so everything just read came
                # before the gap: stand in silence for the lost part to keep positions true.
                log.warning("capture fell behind: %d samples lost", lost)
                data = np.concatenate([data, np.zeros(lost, dtype=np.float32)])
            if len(data) or stopping:
                by_rate = {r: rs.process(data) for r, rs in resamplers.items()}
                if stopping:
                    by_rate = {
                        r: np.concatenate([by_rate[r], resamplers[r].flush()]) for r in resamplers
                    }
                if len(data) or any(len(v) for v in by_rate.values()):
                    self._emit(
                        CaptureChunk(
                            start=pos,
                            rate=self.rate,
                            samples=data,
                            by_rate=by_rate,
                            starts=dict(starts),
                            peak=float(np.abs(data).max()) if len(data) else 0.0,
                            rms=float(np.sqrt(np.mean(np.square(data)))) if len(data) else 0.0,
                        )
                    )
                pos += len(data)
                for r, v in by_rate.items():
                    starts[r] += len(v)
            if stopping:
                return
            stream = self._stream
            if self._finished or (stream is not None and not stream.active):
                self._fail(
                    UserError(
                        f"the input device {self.device.name!r} stopped delivering audio "
                        "(unplugged or taken by another program?); check it and start again"
                    )
                )
                return
            time.sleep(pace)

    def _emit(self, chunk: CaptureChunk) -> None:
        if self._on_chunk is None:
            self._queue.put(chunk)
            return
        try:
            self._on_chunk(chunk)
        except Exception:  # a consumer bug must not kill capture silently
            log.exception("capture consumer failed")

    def _fail(self, error: UserError) -> None:
        log.warning("%s", error)
        self.error = error
        if self._on_error is not None:
            self._on_error(error)
        else:
            self._queue.put(error)
