"""Resampling with soxr: whole signals at once, or a stream chunk by chunk.

`StreamResampler` keeps the filter state between chunks, so resampling a stream in pieces gives
the same samples as resampling it whole (up to the filter's delay, which `flush` releases).
"""

from __future__ import annotations

import numpy as np
import soxr

#: soxr quality used everywhere: "HQ" is transparent for speech and costs little on the CPU.
QUALITY = "HQ"


def resample(samples: np.ndarray, src_rate: int, dst_rate: int) -> np.ndarray:
    """Resample mono float32 `samples` ([N]) from `src_rate` to `dst_rate` Hz; returns [M]."""
    x = np.ascontiguousarray(samples, dtype=np.float32)
    if src_rate == dst_rate or len(x) == 0:
        return x.copy()
    return soxr.resample(x, src_rate, dst_rate, quality=QUALITY).astype(np.float32, copy=False)


class StreamResampler:
    """Chunked resampler for one mono stream; use from a single thread.

    Args:
        src_rate: rate of the chunks fed in, Hz.
        dst_rate: rate of the chunks returned, Hz.
    """

    def __init__(self, src_rate: int, dst_rate: int) -> None:
        self.src_rate = int(src_rate)
        self.dst_rate = int(dst_rate)
        # soxr's filter; None passes the samples through (equal rates)
        self._stream = (
            None
            if self.src_rate == self.dst_rate
            else soxr.ResampleStream(
                self.src_rate, self.dst_rate, 1, dtype="float32", quality=QUALITY
            )
        )

    def process(self, chunk: np.ndarray) -> np.ndarray:
        """Feed [N] samples, get back whatever output is ready ([M], possibly empty)."""
        x = np.ascontiguousarray(chunk, dtype=np.float32)
        if self._stream is None:
            return x.copy()
        return self._stream.resample_chunk(x, last=False)

    def flush(self) -> np.ndarray:
        """End the stream: return the samples still held in the filter."""
        if self._stream is None:
            return np.zeros(0, dtype=np.float32)
        return self._stream.resample_chunk(np.zeros(0, dtype=np.float32), last=True)
