"""A WAV file that is valid at every moment while audio is appended to it.

The 44-byte header is written first with sizes for zero samples. Each `append` writes the new
16-bit samples at the end of the file, then rewrites the two size fields of the header (RIFF
size and data size) to cover them, then flushes to the operating system, so a process killed at
any point leaves a playable file: at worst the header does not yet count the last chunk, which
readers then ignore. `sync()` also asks the OS to put the data on the disk (power loss).

A failing write (a full disk: `OSError` ENOSPC) is raised as `RecordingError` with a clear
message; the file keeps the audio written before, with a header that matches it.
"""

from __future__ import annotations

import errno
import os
import struct
from pathlib import Path

import numpy as np

from app.errors import UserError

HEADER_BYTES = 44


class RecordingError(UserError):
    """The recording could not be written (full disk, removed folder, no permission)."""


def describe_os_error(exc: OSError, path: Path) -> str:
    """A message for the user about a failed write of `path`."""
    if exc.errno == errno.ENOSPC:
        return (f"the disk holding {path.parent} is full: recording stopped (what was recorded "
                "so far is kept). Free some space; the conversation goes on.")
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return f"cannot write {path} ({exc.strerror}); choose another --out folder"
    return f"writing {path} failed ({exc.strerror or exc}); recording stopped, the conversation goes on"


def _header(rate: int, channels: int, data_bytes: int) -> bytes:
    block = 2 * channels
    return (
        b"RIFF" + struct.pack("<I", 36 + data_bytes) + b"WAVE"
        + b"fmt " + struct.pack("<IHHIIHH", 16, 1, channels, rate, rate * block, block, 16)
        + b"data" + struct.pack("<I", data_bytes)
    )


def to_pcm16(samples: np.ndarray) -> bytes:
    """float32 [-1, 1] -> little-endian int16 bytes (clipped)."""
    x = np.clip(np.asarray(samples, dtype=np.float32).reshape(-1), -1.0, 1.0)
    return (np.round(x * 32767.0)).astype("<i2").tobytes()


class WavAppender:
    """Mono 16-bit PCM WAV grown by `append`, valid after every call.

    Args:
        path: the file to create (replaced if it exists).
        rate: samples per second.
    """

    def __init__(self, path: str | Path, rate: int) -> None:
        self.path = Path(path)
        self.rate = rate
        self.samples = 0  # samples written and counted in the header
        try:
            self._f = open(self.path, "w+b")  # noqa: SIM115 - kept open while recording
            self._f.write(_header(rate, 1, 0))
            self._f.flush()
        except OSError as exc:
            raise RecordingError(describe_os_error(exc, self.path)) from exc

    @property
    def seconds(self) -> float:
        return self.samples / self.rate

    def append(self, samples: np.ndarray) -> None:
        """Write float32 samples at the end, then update the header and flush."""
        data = to_pcm16(samples)
        if not data:
            return
        f = self._f
        start = HEADER_BYTES + 2 * self.samples
        try:
            f.seek(start)
            f.write(data)
            f.flush()
        except OSError as exc:
            self._restore(start)
            raise RecordingError(describe_os_error(exc, self.path)) from exc
        self.samples += len(data) // 2
        self._write_sizes()

    def _write_sizes(self) -> None:
        data_bytes = 2 * self.samples
        try:
            self._f.seek(4)
            self._f.write(struct.pack("<I", 36 + data_bytes))
            self._f.seek(40)
            self._f.write(struct.pack("<I", data_bytes))
            self._f.flush()
        except OSError as exc:
            raise RecordingError(describe_os_error(exc, self.path)) from exc

    def _restore(self, size: int) -> None:
        """After a failed write: cut off what may have been half written."""
        try:
            self._f.truncate(size)
        except OSError:
            pass

    def sync(self) -> None:
        """Ask the OS to put what was written on the disk."""
        try:
            os.fsync(self._f.fileno())
        except OSError:
            pass

    def close(self) -> None:
        if not self._f.closed:
            try:
                self._f.flush()
                os.fsync(self._f.fileno())
            except OSError:
                pass
            self._f.close()
