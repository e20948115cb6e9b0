"""Low-latency playback: a producer fills a ring buffer, the output callback drains it.

The output stream's callback copies from a preallocated `RingBuffer` into the device buffer and
applies short gain ramps; it takes no locks, logs nothing and allocates no buffers. When the ring
runs dry while the producer said more was coming, the missing samples play as silence and are
counted as an underrun.

Start, stop and `flush()` ramp over a few milliseconds, so nothing clicks. `flush()` (for
interruptions) silences the output within one callback period and throws away what was queued.

The playback clock: each callback records where in the pushed stream its block starts, how many
real samples it holds and when PortAudio says the block will reach the speaker
(`outputBufferDacTime`, i.e. the samples handed to the device plus the stream's latency). From
that history `position()` tells which sample is being heard now and `time_of()` when a given
sample is (or was) heard, so a transcript can highlight words in time with the voice.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from types import ModuleType

import numpy as np

from app.audio.clock import BlockClock
from app.audio.devices import AudioStream, DeviceInfo, StreamFactory, open_setup
from app.audio.resample import StreamResampler
from app.core import SAMPLE_RATE
from app.errors import UserError

log = logging.getLogger(__name__)

@dataclass(frozen=True)
class PlaybackConfig:
    """How to open the speaker."""

    device: str | int | None = None  # name (or part of it), index, or None for the default
    samplerate: int = SAMPLE_RATE  # rate of the pushed stream in Hz (the device may run at another)
    block_ms: float = 20.0  # callback period; flush() takes effect within one of these
    buffer_seconds: float = 2.0  # ring buffer length (how far the producer may run ahead)
    ramp_ms: float = 5.0  # length of the fade at start, stop, flush and after underruns
    history_blocks: int = 512  # callback blocks remembered for the clock (512 x 20 ms = 10 s)


class Playback:
    """An open output stream fed from a ring buffer. Use as a context manager or start/stop.

    Args:
        config: what to open.
        sd: the `sounddevice` module (or a stand-in with the same API).
        stream_factory: builds the output stream; defaults to `sd.OutputStream`.
        clock: returns the current time on the stream's clock (s); defaults to the stream's own.

    Positions (`position`, `time_of`, `pushed`) count samples of the pushed stream at
    `config.samplerate`.
    """

    def __init__(
        self,
        config: PlaybackConfig = PlaybackConfig(),
        sd: ModuleType | None = None,
        stream_factory: StreamFactory | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.config = config
        self.setup = open_setup(config.device, "output", config.samplerate, config.block_ms, sd)
        self._factory = stream_factory
        self._clock = clock
        self.device: DeviceInfo = self.setup.device
        self.channels = self.setup.channels
        self.rate = self.setup.rate
        self._ratio = self.rate / config.samplerate  # device samples per pushed sample
        self._resampler = StreamResampler(config.samplerate, self.rate)
        self.blocksize = self.setup.blocksize
        self.ring = self.setup.ring(config.buffer_seconds)
        self._scratch = np.zeros(max(self.blocksize, 16384), dtype=np.float32)
        ramp = max(1, round(self.rate * config.ramp_ms / 1000))
        # gains strictly between 0 and 1: every ramp sample is scaled, none is left at full level
        self._fade_in = (np.arange(1, ramp + 1) / (ramp + 1)).astype(np.float32)
        self._fade_out = np.ascontiguousarray(self._fade_in[::-1])
        # written by the callback: ring position at block start, real samples, DAC time
        self.clock = BlockClock(self.rate, config.history_blocks)
        self._latency = 0.0
        # control flags: set by other threads, acted upon by the callback
        self._flush_req = 0
        self._flush_ack = 0
        self._stop_req = False
        self._pause_req = False  # hold playback: fade out, then silence without consuming
        self._silent = True  # the last audible sample was silence: fade the next audio in
        self._expecting = False  # the producer promised more audio: a dry ring is an underrun
        self.underrun_samples = 0  # silence played while audio was expected
        self.underrun_events = 0  # callback blocks that came up short while audio was expected
        self.device_underflows = 0  # blocks PortAudio itself flagged as output underflow
        self._producer_lock = threading.Lock()  # one writer at a time; never taken by the callback
        self._generation = 0  # bumped by flush(); writes from an older generation stop
        self._pushed = 0  # samples accepted from producers, at the pushed rate
        self._stream: AudioStream | None = None
        self._feed_thread: threading.Thread | None = None
        self._feed_cancel = threading.Event()

    # -- the real-time callback (PortAudio thread) ----------------------------------------------
    def _callback(self, outdata, frames, time_info, status) -> None:
        if status.output_underflow:
            self.device_underflows += 1
        buf = self._scratch[:frames]
        start = self.ring.read_total
        if self._stop_req or self._flush_req != self._flush_ack:
            # fade out what is playing; after silence (a hold, a dry ring) there is nothing to fade
            k = 0 if self._silent else self.ring.read_into(buf[: len(self._fade_out)], pad=False)
            buf[:k] *= self._fade_out[:k]
            buf[k:] = 0.0
            if self._flush_req != self._flush_ack:
                self.ring.skip()
                self._flush_ack = self._flush_req
            self._silent = True
        elif self._pause_req:
            k = 0
            if not self._silent:  # fade the held audio out over the ramp, then hold
                k = self.ring.read_into(buf[: len(self._fade_out)], pad=False)
                buf[:k] *= self._fade_out[:k]
                self._silent = True
            buf[k:] = 0.0
        else:
            k = self.ring.read_into(buf, pad=False)
            if k < frames:
                buf[k:] = 0.0
                if self._expecting:
                    self.underrun_samples += frames - k
                    self.underrun_events += 1
            if k and self._silent:
                r = min(k, len(self._fade_in))
                buf[:r] *= self._fade_in[:r]
            self._silent = k < frames
        if self.channels == 1:
            outdata[:, 0] = buf
        else:
            outdata[:] = buf[:, None]
        dac = time_info.outputBufferDacTime
        if dac <= 0.0:  # some host APIs leave it unset: current time plus reported latency
            dac = time_info.currentTime + self._latency
        self.clock.record(start, k, dac)

    # -- control ---------------------------------------------------------------------------------
    def start(self) -> Playback:
        """Open the output stream; it plays silence until audio is written."""
        with self.setup.opening():
            self._stream = self.setup.stream(self._factory, self._callback, latency="low")
            self._latency = float(self._stream.latency)
            self._stream.start()
        log.info(
            "playing to %r at %d Hz (latency %.0f ms)",
            self.device.name,
            self.rate,
            1000 * self._latency,
        )
        return self

    def stop(self) -> None:
        """Fade out, stop any feed, and close the stream (queued audio is dropped)."""
        self._cancel_feed()
        if self._stream is None:
            return
        self._stop_req = True
        if self._stream.active:
            self._wait_blocks(2)
        self.setup.close(self._stream)
        self._stream = None

    def __enter__(self) -> Playback:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def latency(self) -> float:
        """The output latency PortAudio reports for the open stream, in seconds."""
        return self._latency

    @property
    def pushed(self) -> int:
        """Samples accepted from producers so far (pushed-stream rate)."""
        return self._pushed

    def check(self) -> None:
        """Raise a `UserError` if the device stopped under us."""
        if self._stream is not None and not self._stream.active and not self._stop_req:
            raise UserError(
                f"the output device {self.device.name!r} stopped (unplugged or taken by another "
                "program?); check it and start again"
            )

    # -- producing -------------------------------------------------------------------------------
    def write(self, samples: np.ndarray, more: bool = True) -> int:
        """Queue mono float32 samples ([N], pushed rate), waiting while the ring is full.

        Args:
            samples: the audio.
            more: whether more audio follows; while it does, a dry ring counts as an underrun.

        Returns the samples queued; fewer than N when `flush()` interrupts.
        """
        if self._stream is None:
            raise UserError("playback is not started")
        with self._producer_lock:
            gen = self._generation
            self._expecting = True
        x = np.asarray(samples, dtype=np.float32).reshape(-1)
        dev = self._resampler.process(x)
        if not more:
            dev = np.concatenate([dev, self._resampler.flush()])
            self._resampler = StreamResampler(self.config.samplerate, self.rate)
        done = 0
        while done < len(dev):
            with self._producer_lock:
                if gen != self._generation:
                    return round(done / self._ratio)
                done += self.ring.write(dev[done:])
            if done < len(dev):
                self.check()
                need = min(len(dev) - done, self.ring.capacity // 2)
                time.sleep(max(0.002, (need - self.ring.free()) / self.rate))
        with self._producer_lock:
            if gen == self._generation:
                self._pushed += len(x)
                self._expecting = more
        return len(x)

    def end(self) -> None:
        """Say no more audio follows (a dry ring is then no longer an underrun)."""
        if self._stream is None:
            self._expecting = False
            return
        self.write(np.zeros(0, dtype=np.float32), more=False)

    def feed(self, frames: Iterable[np.ndarray]) -> threading.Thread:
        """Play frames from an iterator (e.g. the TTS's 1920-sample frames) on a producer thread.

        Returns the thread; `wait()` blocks until it ran out and the audio was heard.
        """
        self._cancel_feed()
        self._feed_cancel.clear()
        cancel = self._feed_cancel

        def run() -> None:
            try:
                for frame in frames:
                    if cancel.is_set():
                        return
                    self.write(frame)
            except UserError as exc:
                log.warning("playback feed stopped: %s", exc)
            finally:
                self.end()

        self._feed_thread = threading.Thread(target=run, name="playback-feed", daemon=True)
        self._feed_thread.start()
        return self._feed_thread

    def _cancel_feed(self) -> None:
        self._feed_cancel.set()
        t = self._feed_thread
        if t is not None and t is not threading.current_thread():
            # a write blocked on a full ring returns once flush() bumps the generation
            with self._producer_lock:
                self._generation += 1
            t.join()
        self._feed_thread = None

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the feed (if any) is done and everything queued has been heard."""
        deadline = None if timeout is None else time.monotonic() + timeout
        t = self._feed_thread
        if t is not None:
            t.join(timeout)
        while self.position() * self._ratio < self.ring.written - 0.5:
            self.check()
            if deadline is not None and time.monotonic() > deadline:
                return False
            time.sleep(self.config.block_ms / 2000)
        return True

    def play(self, samples: np.ndarray) -> None:
        """Queue a whole clip and wait until it has been heard."""
        self.write(samples, more=False)
        self.wait()

    def pause(self) -> None:
        """Hold playback: the output fades out within one callback period and the queued audio
        waits (the position stops) until `resume()`."""
        self._pause_req = True

    def resume(self) -> None:
        """Play on from where `pause()` held, fading back in."""
        self._pause_req = False

    def flush(self) -> None:
        """Silence the output now: fade out within one callback period and drop queued audio.

        Any feed is stopped; a `write` in progress returns early. Later writes play normally.
        """
        self._feed_cancel.set()
        with self._producer_lock:
            self._generation += 1
            self._expecting = False
            self._resampler = StreamResampler(self.config.samplerate, self.rate)
            if self._stream is not None and self._stream.active:
                self._flush_req += 1
                self._wait_for(lambda: self._flush_ack == self._flush_req, blocks=4)
            if self._flush_ack != self._flush_req or self._stream is None:
                self.ring.skip()  # the callback is not running: safe to drop here
                self._flush_ack = self._flush_req
        t = self._feed_thread
        if t is not None and t is not threading.current_thread():
            t.join()
            self._feed_thread = None
        # the pushed stream continues after the dropped part
        self._pushed = round(self.ring.written / self._ratio)

    def _wait_blocks(self, blocks: int) -> None:
        seq = self.clock.blocks
        self._wait_for(lambda: self.clock.blocks >= seq + blocks, blocks=blocks + 4)

    def _wait_for(self, cond: Callable[[], bool], blocks: int) -> None:
        deadline = time.monotonic() + blocks * self.config.block_ms / 1000 + self._latency + 0.2
        while not cond() and time.monotonic() < deadline:
            time.sleep(0.001)

    # -- the clock -------------------------------------------------------------------------------
    def now(self) -> float:
        """Current time on the clock the history is kept in (s)."""
        if self._clock is not None:
            return self._clock()
        return float(self._stream.time) if self._stream is not None else 0.0

    def position(self, now: float | None = None) -> float:
        """Sample of the pushed stream being heard at `now` (default: the current time)."""
        return self.clock.position(self.now() if now is None else now) / self._ratio

    def positions(self, times: np.ndarray) -> np.ndarray:
        """`position` at each of `times` ([N] clock seconds, ascending): [N] pushed samples."""
        return self.clock.positions(times) / self._ratio

    def time_of(self, sample: float) -> float | None:
        """Clock time (s) at which pushed-stream `sample` is heard; None if it was dropped, is
        not yet handed to the device, or left the history long ago."""
        return self.clock.time_of(sample * self._ratio)
