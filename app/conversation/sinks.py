"""Where the character's audio goes: a playback sink with a clock.

The pipeline needs from a sink: `write(pcm)` (queue float32 24 kHz samples), `flush()` (drop
what is queued and go silent now), `end()` (no more audio for the moment), `pushed` (samples
accepted so far), `position()` (samples of the pushed stream heard so far) and
`heard_at(sample)` (when that sample is or was heard, on the pipeline's clock, or None).
Positions count the pushed stream: samples dropped by `flush()` count as passed.

- `DeviceSink` adapts `app.audio.playback.Playback` (the real speaker).
- `VirtualSink` is for headless runs and tests: "instant" (everything is heard when written),
  "realtime" (heard at 24 kHz on the given clock) or "manual" (the test moves the playhead).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

import numpy as np

from app.core import SAMPLE_RATE

if TYPE_CHECKING:
    from app.audio.playback import Playback


class PlaybackSink(Protocol):
    """What the pipeline plays into."""

    @property
    def pushed(self) -> int: ...

    def write(self, pcm: np.ndarray) -> None: ...

    def flush(self) -> None: ...

    def end(self) -> None: ...

    def position(self) -> float: ...

    def heard_at(self, sample: float) -> float | None: ...


class PausableSink(PlaybackSink, Protocol):
    """A sink whose playback can be held (the speaker's, `DeviceSink`)."""

    def pause(self) -> None: ...

    def resume(self) -> None: ...


class VirtualSink:
    """A sink with no sound device.

    Args:
        mode: "instant", "realtime" or "manual" (see the module docstring).
        clock: the time source (seconds); the pipeline's clock, so `heard_at` matches it.
        keep: keep every written sample in `audio()` (for tests and inspection).
    """

    def __init__(self, mode: str = "instant", clock: Callable[[], float] = time.perf_counter,
                 keep: bool = False) -> None:
        if mode not in ("instant", "realtime", "manual"):
            raise ValueError(f"unknown sink mode {mode!r}")
        self.mode = mode
        self._clock = clock
        self._lock = threading.Lock()
        self._pushed = 0
        self._head = 0.0  # samples of the pushed stream heard
        self._head_time = clock()  # when the head was last moved
        self._writes: deque[tuple[int, float]] = deque(maxlen=4096)  # (first sample, time written)
        self._keep = keep
        self._chunks: list[np.ndarray] = []
        self.flushes = 0  # times flush() was called
        self.dropped = 0  # samples dropped by flush()

    @property
    def pushed(self) -> int:
        return self._pushed

    def _update(self) -> None:
        now = self._clock()
        if self.mode == "instant":
            self._head = float(self._pushed)
        elif self.mode == "realtime":
            self._head = min(float(self._pushed), self._head + (now - self._head_time) * SAMPLE_RATE)
        self._head_time = now

    def write(self, pcm: np.ndarray) -> None:
        x = np.asarray(pcm, dtype=np.float32).reshape(-1)
        with self._lock:
            self._update()
            if self.mode == "realtime" and self._head >= self._pushed:
                self._head_time = self._clock()  # playback (re)starts now
            self._writes.append((self._pushed, self._clock()))
            self._pushed += len(x)
            if self._keep:
                self._chunks.append(x.copy())
            if self.mode == "instant":
                self._head = float(self._pushed)

    def flush(self) -> None:
        with self._lock:
            self._update()
            self.flushes += 1
            self.dropped += int(self._pushed - self._head)
            self._head = float(self._pushed)

    def end(self) -> None:
        pass

    def position(self) -> float:
        with self._lock:
            self._update()
            return self._head

    def play(self, samples: float) -> None:
        """Manual mode: move the playhead `samples` on (never past what was pushed)."""
        with self._lock:
            self._head = min(float(self._pushed), self._head + samples)
            self._head_time = self._clock()

    def heard_at(self, sample: float) -> float | None:
        with self._lock:
            self._update()
            if self.mode == "instant":
                for first, t in reversed(self._writes):
                    if first <= sample:
                        return t
                return None
            if sample < self._head:
                return self._head_time - (self._head - sample) / SAMPLE_RATE
            if self.mode == "realtime" and sample < self._pushed:
                return self._head_time + (sample - self._head) / SAMPLE_RATE
            return None

    def audio(self) -> np.ndarray:
        """Everything written (with keep=True)."""
        return np.concatenate(self._chunks) if self._chunks else np.zeros(0, dtype=np.float32)


class DeviceSink:
    """The speaker, through `app.audio.playback.Playback` (started by the caller).

    Args:
        playback: a started `Playback` at 24 kHz.
        clock: the pipeline's clock, into which the device clock's times are converted.
    """

    def __init__(self, playback: Playback, clock: Callable[[], float] = time.perf_counter) -> None:
        self.playback = playback
        self._clock = clock

    @property
    def pushed(self) -> int:
        return int(self.playback.pushed)

    def write(self, pcm: np.ndarray) -> None:
        self.playback.write(pcm, more=True)

    def flush(self) -> None:
        self.playback.flush()

    def pause(self) -> None:
        """Hold playback (the position stops) until `resume()`."""
        self.playback.pause()

    def resume(self) -> None:
        self.playback.resume()

    def end(self) -> None:
        self.playback.end()

    def position(self) -> float:
        return float(self.playback.position())

    def heard_at(self, sample: float) -> float | None:
        t = self.playback.time_of(sample)
        if t is None:
            return None
        return self._clock() - (self.playback.now() - t)
