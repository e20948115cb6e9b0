"""A random-weight Dia2 checkpoint of any shape, written in the published layout without holding
the weights in memory: `model.safetensors` (float32 tensors named by module path) and
`config.json`.

The safetensors header is built from the model's tensor names and shapes (taken on the meta
device), then each tensor's values are drawn and written a chunk at a time, so writing the 4.3 GB
Dia2-1B file needs a few megabytes. The values are uniform with the variance a trained network's
layers roughly have (1 / fan-in for projections, unit scale for embeddings, norm weights near 1),
enough for a forward pass to stay finite; timing and memory do not depend on them.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from app.tts.config import parse_config
from app.tts.model import Dia2Model

CHUNK_ELEMENTS = 4 * 2**20  # values drawn and written at a time (16 MB of float32)


@dataclass(frozen=True)
class WrittenCheckpoint:
    """What `write_random_checkpoint` wrote."""

    folder: Path  # the checkpoint folder
    tensors: int  # tensors in model.safetensors
    parameters: int  # float32 values in model.safetensors
    file_bytes: int  # size of model.safetensors (header included)


def checkpoint_shapes(raw: dict) -> dict[str, tuple[int, ...]]:
    """Name -> shape of every tensor the checkpoint of this config holds (no memory used)."""
    cfg = parse_config(raw)
    with torch.device("meta"):
        model = Dia2Model(cfg)
    return {name: tuple(t.shape) for name, t in model.checkpoint_tensors().items()}


def safetensors_header(shapes: dict[str, tuple[int, ...]]) -> bytes:
    """The JSON header of a float32 safetensors file of these tensors, as the safetensors library
    writes it: compact JSON, tensors in name order (for one dtype), no `__metadata__` (the
    published files have none), padded with spaces so that the data starts 8-byte aligned."""
    header: dict[str, object] = {}
    offset = 0
    for name in sorted(shapes):
        nbytes = 4 * math.prod(shapes[name])
        header[name] = {"dtype": "F32", "shape": list(shapes[name]),
                        "data_offsets": [offset, offset + nbytes]}
        offset += nbytes
    blob = json.dumps(header, separators=(",", ":")).encode()
    return blob + b" " * (-len(blob) % 8)


def _half_width(name: str, shape: tuple[int, ...]) -> tuple[float, float]:
    """(centre, half width) of the uniform distribution for one tensor."""
    if name.endswith("norm.weight"):
        return 1.0, 0.1
    if "embed" in name:
        return 0.0, math.sqrt(3.0)  # unit variance
    fan_in = shape[-1] if len(shape) > 1 else 1
    return 0.0, math.sqrt(3.0 / fan_in)  # variance 1 / fan_in


def write_random_checkpoint(folder: str | Path, raw: dict, *, seed: int = 0,
                            chunk_elements: int = CHUNK_ELEMENTS) -> WrittenCheckpoint:
    """Write `config.json` and a random float32 `model.safetensors` of the config's shape into
    `folder` (created if needed). The weights file appears only once complete (it is written under
    a temporary name, then renamed)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    shapes = checkpoint_shapes(raw)
    blob = safetensors_header(shapes)
    rng = np.random.default_rng(seed)
    buf = np.empty(chunk_elements, dtype=np.float32)
    final = folder / "model.safetensors"
    tmp = folder / ".model.safetensors.part"
    try:
        with open(tmp, "wb") as f:
            f.write(len(blob).to_bytes(8, "little"))
            f.write(blob)
            for name in sorted(shapes):
                centre, half = _half_width(name, shapes[name])
                left = math.prod(shapes[name])
                while left:
                    part = buf[: min(left, chunk_elements)]
                    rng.random(out=part, dtype=np.float32)
                    part *= 2 * half
                    part += centre - half
                    f.write(part.data)
                    left -= len(part)
        os.replace(tmp, final)
    finally:
        tmp.unlink(missing_ok=True)
    (folder / "config.json").write_text(json.dumps(raw, indent=1), encoding="utf-8")
    params = sum(math.prod(shape) for shape in shapes.values())
    return WrittenCheckpoint(folder, len(shapes), params, final.stat().st_size)
