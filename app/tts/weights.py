"""Strict, memory-lean weight loading from `model.safetensors`.

Every tensor of the file must find its parameter, every parameter must be filled, and shapes must
match; otherwise one readable error names the offending tensor (and both shapes).

The file is read, not memory-mapped: the safetensors header is parsed here, and each tensor's
bytes go straight from the file into the parameter that holds it (`readinto`) when the dtypes
match and the parameter is in host memory. Otherwise (another dtype, or a GPU parameter) they
pass through one small bounded buffer, converted and copied a chunk at a time. Loading therefore
needs the memory of the loaded parameters plus that buffer, never a second copy of the weights
(a memory map would add the file's touched pages to the process's resident memory).
"""

from __future__ import annotations

import json
import logging
import math
import os
import struct
from dataclasses import dataclass
from pathlib import Path

import torch

from app.errors import UserError
from app.tts.model import Dia2Model

log = logging.getLogger(__name__)

CHUNK_BYTES = 16 * 2**20  # the conversion buffer: host memory used beyond the parameters
_MAX_HEADER = 100 * 2**20  # safetensors' own limit on the JSON header
_DTYPES = {
    "F64": torch.float64, "F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16,
    "I64": torch.int64, "I32": torch.int32, "I16": torch.int16, "I8": torch.int8,
    "U8": torch.uint8, "BOOL": torch.bool,
}


class _Unreadable(Exception):
    """The file is not a well-formed safetensors file (the message says how)."""


@dataclass(frozen=True)
class StoredTensor:
    """One tensor as the safetensors header describes it."""

    name: str  # its name in the file (the module path)
    dtype: torch.dtype  # stored element type
    shape: tuple[int, ...]  # stored shape
    offset: int  # absolute position of its first byte in the file
    nbytes: int  # its size in bytes


def read_header(path: Path) -> list[StoredTensor]:
    """The tensors a safetensors file holds, in file order, after checking that the header is
    well formed and that every tensor's bytes lie inside the file."""
    size = path.stat().st_size
    with open(path, "rb") as f:
        head = f.read(8)
        if len(head) < 8:
            raise _Unreadable("shorter than its 8-byte header length")
        (n,) = struct.unpack("<Q", head)
        if n > _MAX_HEADER or 8 + n > size:
            raise _Unreadable(f"header length {n} does not fit a file of {size} bytes")
        raw = f.read(n)
    try:
        header = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _Unreadable(f"header is not JSON: {exc}") from None
    if not isinstance(header, dict):
        raise _Unreadable("header is not a JSON object")
    out = []
    for name, info in header.items():
        if name == "__metadata__":
            continue
        try:
            dtype = _DTYPES[info["dtype"]]
            shape = tuple(int(d) for d in info["shape"])
            begin, end = (int(v) for v in info["data_offsets"])
        except (KeyError, TypeError, ValueError):
            raise _Unreadable(f"header entry {name!r} is malformed") from None
        itemsize = torch.empty((), dtype=dtype).element_size()
        if min(shape, default=0) < 0 or not 0 <= begin <= end or end - begin != math.prod(shape) * itemsize:
            raise _Unreadable(f"header entry {name!r} has inconsistent offsets")
        if 8 + n + end > size:
            raise _Unreadable(f"tensor {name!r} ends past the end of the file")
        out.append(StoredTensor(name, dtype, shape, 8 + n + begin, end - begin))
    return sorted(out, key=lambda t: t.offset)


def load_weights(model: Dia2Model, path: str | Path, *, chunk_bytes: int = CHUNK_BYTES) -> None:
    """Fill `model`'s parameters from the checkpoint (converting dtype), one tensor at a time."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path} does not exist; a Dia2 checkpoint folder needs model.safetensors")
    targets = model.checkpoint_tensors()
    try:
        stored = read_header(path)
        unknown = [t.name for t in stored if t.name not in targets]
        if unknown:
            raise UserError(
                f"{path.name}: tensor '{unknown[0]}' matches no parameter of this model"
                f" ({len(unknown)} such tensors); is config.json from the same checkpoint?"
            )
        for t in stored:
            target = targets[t.name]
            if t.shape != tuple(target.shape):
                raise UserError(
                    f"{path.name}: tensor '{t.name}' has shape {list(t.shape)} but config.json "
                    f"implies {list(target.shape)}; the weights and config do not match"
                )
        missing = sorted(set(targets) - {t.name for t in stored})
        if missing:
            raise UserError(
                f"{path.name}: tensor '{missing[0]}' is missing ({len(missing)} missing in all); "
                "the file is incomplete or from another model"
            )
        with open(path, "rb", buffering=0) as f, torch.no_grad():
            buffer = _Buffer(chunk_bytes)
            for t in stored:
                _read_into(f, t, targets[t.name].detach(), buffer)
    except _Unreadable as exc:
        raise UserError(
            f"{path} is not a readable safetensors file ({exc}); it may be truncated, "
            "delete it and download the checkpoint again"
        ) from None
    except OSError as exc:
        raise UserError(f"cannot read {path}: {exc}") from None
    log.debug("loaded %d tensors from %s", len(stored), path)


class _Buffer:
    """One reusable host buffer for reads that cannot land in the parameter directly."""

    def __init__(self, nbytes: int) -> None:
        self.nbytes = nbytes
        self._raw: bytearray | None = None  # allocated on first use only

    def view(self, itemsize: int) -> memoryview:
        """The buffer, at least one element of `itemsize` bytes long."""
        if self._raw is None or len(self._raw) < itemsize:
            self._raw = bytearray(max(self.nbytes, itemsize))
        return memoryview(self._raw)


def _read_exact(f, view: memoryview) -> None:
    done = 0
    while done < len(view):
        got = f.readinto(view[done:])
        if not got:
            raise _Unreadable("the file ended early")
        done += got


def _read_into(f, t: StoredTensor, target: torch.Tensor, buffer: _Buffer) -> None:
    """Read stored tensor `t` into `target` (same shape; any dtype and device)."""
    if not target.is_contiguous():
        raise RuntimeError(f"parameter for {t.name} is not contiguous")  # a bug of ours
    f.seek(t.offset)
    if t.nbytes == 0:
        return
    flat = target.view(-1)
    if target.device.type == "cpu" and target.dtype == t.dtype:
        _read_exact(f, flat.view(torch.uint8).numpy().data.cast("B"))
        return
    itemsize = t.nbytes // flat.numel()
    raw = buffer.view(itemsize)
    per_chunk = len(raw) // itemsize
    for start in range(0, flat.numel(), per_chunk):
        count = min(per_chunk, flat.numel() - start)
        part = raw[: count * itemsize]
        _read_exact(f, part)
        flat[start : start + count].copy_(torch.frombuffer(part, dtype=t.dtype, count=count))


def drop_file_cache(path: str | Path) -> bool:
    """Ask the kernel to forget the file's cached pages (for cold-load measurements); False where
    the platform cannot. The file's dirty pages are written out first."""
    if not hasattr(os, "posix_fadvise"):
        return False
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)
    return True
