"""Atomic files: what is on disk is always either the old file or the whole new one."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def file_mode(path: Path) -> int:
    """The permissions a file written at `path` should get: those of the file it replaces, else
    what a newly created file gets under the process's umask (the temporary file that is renamed
    into place is created readable by its owner only)."""
    try:
        return os.stat(path).st_mode & 0o7777
    except OSError:
        return 0o666 & ~_umask()


def _umask() -> int:
    try:  # Linux: read it without changing it (os.umask would, for every thread, for a moment)
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    return 0o022


def write_atomic(path: Path, text: str) -> None:
    """Write `text` (UTF-8, newlines as given) to `path` atomically, as `write_bytes_atomic`."""
    write_bytes_atomic(path, text.encode("utf-8"))


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """Write `data` to a temporary file beside `path`, flush it to disk, rename it into place
    (keeping the permissions of the file it replaces)."""
    path = Path(path)
    mode = file_mode(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fchmod(f.fileno(), mode)
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
