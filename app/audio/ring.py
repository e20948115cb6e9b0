"""A single-producer, single-consumer ring buffer of float32 samples for real-time audio.

One thread writes, one thread reads; neither ever waits for the other. The buffer is allocated
once. Positions are two ever-growing integers: the writer alone advances `written`, the reader
alone advances `read`, and each publishes its position only after its copy is done, so the other
side never sees a half-copied region. Under CPython an integer attribute store is atomic, which
is all the synchronisation this needs: no lock is taken, so a PortAudio callback may call
`write` or `read_into` safely.

What does not fit is refused and counted (an overrun); what is asked for but missing is counted
(an underrun) and, for `read_into`, filled with silence. Samples are never reordered or
duplicated.
"""

from __future__ import annotations

import numpy as np


class RingBuffer:
    """Lock-free SPSC ring of mono float32 samples.

    Args:
        capacity: how many samples the ring holds.

    Counters (read them from any thread; they only grow):
        overrun_samples / overrun_events: samples `write` refused because the ring was full, and
            how many writes were cut short.
        underrun_samples / underrun_events: samples `read_into` was asked for but did not have,
            and how many reads came up short.
    """

    def __init__(self, capacity: int) -> None:
        if capacity <= 0:
            raise ValueError("ring buffer capacity must be positive")
        self.capacity = int(capacity)
        self._buf = np.zeros(self.capacity, dtype=np.float32)
        self._written = 0  # total samples ever written (advanced by the producer only)
        self._read = 0  # total samples ever consumed (advanced by the consumer only)
        self.overrun_samples = 0
        self.overrun_events = 0
        self.underrun_samples = 0
        self.underrun_events = 0

    # -- state -------------------------------------------------------------------------------
    @property
    def written(self) -> int:
        """Total samples ever accepted by `write`."""
        return self._written

    @property
    def read_total(self) -> int:
        """Total samples ever consumed (read or skipped)."""
        return self._read

    def available(self) -> int:
        """Samples ready to read."""
        return self._written - self._read

    def free(self) -> int:
        """Samples that can be written without overrun."""
        return self.capacity - (self._written - self._read)

    # -- producer side ---------------------------------------------------------------------------
    def write(self, data: np.ndarray) -> int:
        """Copy as much of `data` ([N] float32-convertible) as fits; return how many were taken.

        The remainder is dropped and counted as an overrun. Producer thread only.
        """
        n = len(data)
        start = self._written
        room = self.capacity - (start - self._read)
        take = n if n <= room else room
        if take < n:
            self.overrun_samples += n - take
            self.overrun_events += 1
        if take <= 0:
            return 0
        i = start % self.capacity
        first = self.capacity - i
        if take <= first:
            self._buf[i : i + take] = data[:take]
        else:
            self._buf[i:] = data[:first]
            self._buf[: take - first] = data[first:take]
        self._written = start + take  # publish after the copy
        return take

    # -- consumer side ---------------------------------------------------------------------------
    def read_into(self, out: np.ndarray, pad: bool = True) -> int:
        """Fill `out` ([N] float32) with the oldest samples; return how many were real.

        With `pad`, the part that could not be filled is zeroed and counted as an underrun.
        Consumer thread only; allocates nothing.
        """
        n = len(out)
        start = self._read
        have = self._written - start
        take = n if n <= have else have
        if take > 0:
            i = start % self.capacity
            first = self.capacity - i
            if take <= first:
                out[:take] = self._buf[i : i + take]
            else:
                out[:first] = self._buf[i:]
                out[first:take] = self._buf[: take - first]
            self._read = start + take  # publish after the copy
        if pad and take < n:
            out[take:] = 0.0
            self.underrun_samples += n - take
            self.underrun_events += 1
        return take

    def read(self, max_samples: int | None = None) -> np.ndarray:
        """Return a new array with up to `max_samples` of the oldest samples (all if None).

        Never counts an underrun: a short or empty result just means nothing more is there.
        Consumer thread only; allocates the result, so not for use inside audio callbacks.
        """
        have = self.available()
        n = have if max_samples is None else min(have, int(max_samples))
        out = np.empty(n, dtype=np.float32)
        self.read_into(out, pad=False)
        return out

    def skip(self, n: int | None = None) -> int:
        """Drop up to `n` of the oldest samples (all if None); return how many. Consumer only."""
        have = self.available()
        k = have if n is None else max(0, min(have, int(n)))
        self._read += k
        return k
