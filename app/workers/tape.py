"""The waveform's data: peak levels of each source in 20 ms bins on the session timeline.

Audio is decimated here, as it arrives (on worker threads), to one peak per 20 ms bin, so the
waveform widget only reads a few hundred numbers per repaint. The tape is a fixed ring of bins
(allocated once); writing a bin far behind or ahead of the newest one simply overwrites it.
"""

from __future__ import annotations

import threading

import numpy as np

from app.core import SAMPLE_RATE

BIN_S = 0.02  # seconds per bin
SOURCES = ("person", "character")


class LevelTape:
    """Peak level (0..1) per 20 ms bin and source, for the last `seconds` of the timeline.

    Thread-safe: writers are the capture reader and the pipeline's worker, the reader the GUI.
    """

    def __init__(self, seconds: float = 120.0) -> None:
        self.bins = int(round(seconds / BIN_S))
        self._peaks = {s: np.zeros(self.bins, np.float32) for s in SOURCES}
        self._stamp = {s: np.full(self.bins, -1, np.int64) for s in SOURCES}  # bin index held
        self._lock = threading.Lock()

    def add_level(self, source: str, timeline: float, peak: float, duration: float = BIN_S) -> None:
        """A level measured over `duration` seconds starting at `timeline`."""
        first = int(timeline / BIN_S)
        last = max(first, int((timeline + duration) / BIN_S - 1e-9))
        with self._lock:
            for b in range(first, last + 1):
                self._put(source, b, peak)

    def add_samples(self, source: str, timeline: float, pcm: np.ndarray, rate: int = SAMPLE_RATE) -> None:
        """Samples starting at `timeline`: one peak per 20 ms bin they cover."""
        x = np.abs(np.asarray(pcm, dtype=np.float32).reshape(-1))
        if not len(x):
            return
        first = int(timeline / BIN_S)
        # sample offsets where each covered bin begins (relative to the first sample)
        edges = np.arange(first, int((timeline + len(x) / rate) / BIN_S) + 1) * BIN_S - timeline
        cuts = np.clip(np.round(edges * rate).astype(np.int64), 0, len(x))
        cuts[0] = 0
        ends = np.append(cuts[1:], len(x))
        with self._lock:
            for b, (a, e) in enumerate(zip(cuts, ends, strict=True), start=first):
                if e > a:
                    self._put(source, b, float(x[a:e].max()))

    def _put(self, source: str, b: int, peak: float) -> None:
        if b < 0:
            return
        i = b % self.bins
        if self._stamp[source][i] != b:
            self._stamp[source][i] = b
            self._peaks[source][i] = 0.0
        self._peaks[source][i] = max(self._peaks[source][i], min(1.0, peak))

    def window(self, source: str, start: float, count: int) -> np.ndarray:
        """`count` bins' peaks from timeline `start` on (0 where nothing was recorded)."""
        first = int(np.floor(start / BIN_S))
        idx = np.arange(first, first + count)
        with self._lock:
            held = self._stamp[source][idx % self.bins] == idx
            out = np.where(held, self._peaks[source][idx % self.bins], 0.0)
        return out.astype(np.float32)

    def clear(self) -> None:
        with self._lock:
            for s in SOURCES:
                self._stamp[s][:] = -1
