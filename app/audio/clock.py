"""Block history that maps stream sample positions to the sound card's clock and back.

An audio callback calls `record(pos, n, t)` once per block: the block starts at sample `pos` of
the stream, holds `n` real samples and meets the converter (DAC or ADC) at time `t` on
PortAudio's stream clock. The arrays are allocated once and written in a circle, so recording
allocates nothing and takes no lock; readers copy the recent part and retry if the callback
lapped them.
"""

from __future__ import annotations

import numpy as np


class BlockClock:
    """Recent (position, real samples, time) triples of one stream.

    Args:
        rate: samples per second of the positions recorded.
        size: how many blocks to remember.
    """

    def __init__(self, rate: int, size: int = 512) -> None:
        self.rate = int(rate)
        self._pos = np.zeros(size, dtype=np.int64)
        self._n = np.zeros(size, dtype=np.int64)
        self._t = np.zeros(size, dtype=np.float64)
        self._seq = 0  # blocks recorded so far

    @property
    def blocks(self) -> int:
        """Blocks recorded so far."""
        return self._seq

    def record(self, pos: int, n: int, t: float) -> None:
        """Note one block (callback thread only)."""
        slot = self._seq % len(self._t)
        self._pos[slot] = pos
        self._n[slot] = n
        self._t[slot] = t
        self._seq += 1

    def history(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Copies of the remembered blocks, oldest first: (positions, real samples, times)."""
        size = len(self._t)
        for _ in range(4):
            seq = self._seq
            first = max(0, seq - size + 1)  # keep clear of the slot being written
            idx = np.arange(first, seq) % size
            pos, n, t = self._pos[idx], self._n[idx], self._t[idx]
            if self._seq - first < size:
                break
        return pos, n, t

    def position(self, now: float) -> float:
        """Stream position at time `now`: inside the last block that started by then, never past
        its real samples (silence after an underrun does not advance the stream)."""
        pos, n, t = self.history()
        if len(t) == 0:
            return 0.0
        i = int(np.searchsorted(t, now, side="right")) - 1
        if i < 0:
            return float(pos[0])
        return float(pos[i] + min(float(n[i]), (now - t[i]) * self.rate))

    def positions(self, times: np.ndarray) -> np.ndarray:
        """`position` at each of `times` ([N] seconds, ascending), in one pass."""
        times = np.asarray(times, dtype=np.float64)
        pos, n, t = self.history()
        if len(t) == 0:
            return np.zeros(len(times))
        i = np.searchsorted(t, times, side="right") - 1
        j = np.maximum(i, 0)
        inside = pos[j] + np.minimum(n[j].astype(np.float64), (times - t[j]) * self.rate)
        return np.where(i < 0, float(pos[0]), inside)

    def time_of(self, sample: float) -> float | None:
        """Time at which stream `sample` met the converter; None if no remembered block holds it."""
        pos, n, t = self.history()
        hit = np.nonzero((pos <= sample) & (sample < pos + n))[0]
        if len(hit) == 0:
            return None
        i = hit[-1]
        return float(t[i] + (sample - pos[i]) / self.rate)
