"""Numeric precision of the Dia2 networks: which dtype the weights, the activations and the logits
use.

Three modes (`--precision`):

- `float32`: everything in float32. The mode held to the parity fixtures, and the only one on the
  CPU.
- `reference`: the published runtime's bfloat16 mode. Weights stay float32; every linear layer
  casts its input to float32, multiplies in float32 (TF32 allowed on CUDA, as the reference
  enables it) and stores its output as bfloat16; RMS norms, attention, the residual stream and the
  KV caches run in bfloat16; the heads' logits are float32. On the CPU the reference runs its
  bfloat16 mode in float32, and so does this one. Forced onto the CPU (`REFERENCE_BF16` passed as
  it is), it gives the reference's bfloat16 tokens exactly (tests/tts/test_precision_parity.py).
- `fast`: weights, activations, caches and logits all bfloat16. Half the weight memory and
  bandwidth of `reference`; tokens may differ from the reference's more often (the GPU check,
  `bench --gpu-check`, measures the agreement).

`auto` is `reference` on CUDA (exactness to the published runtime first; see docs/benchmarks.md
for what `fast` gains) and `float32` on the CPU.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from app.errors import UserError

PRECISIONS = ("auto", "float32", "reference", "fast")
# Older spellings (the former --dtype choice) and their modes.
ALIASES = {"fp32": "float32", "bfloat16": "fast", "bf16": "fast"}


@dataclass(frozen=True)
class Precision:
    """Dtypes of one precision mode."""

    name: str  # float32, reference or fast
    weights: torch.dtype  # linear layers' and embeddings' weights
    compute: torch.dtype  # activations, RMS norm weights, KV caches
    logits: torch.dtype  # the heads' outputs (guidance and sampling read them)
    tf32: bool = False  # allow TF32 for float32 matrix products on CUDA (as the reference does)


FLOAT32 = Precision("float32", torch.float32, torch.float32, torch.float32)
REFERENCE_BF16 = Precision("reference", torch.float32, torch.bfloat16, torch.float32, tf32=True)
FAST_BF16 = Precision("fast", torch.bfloat16, torch.bfloat16, torch.bfloat16)


def resolve_precision(name: str, device: torch.device) -> Precision:
    """The mode for a user's choice on `device` (see the module docstring)."""
    key = ALIASES.get(name, name)
    if key not in PRECISIONS:
        raise UserError(
            f"unknown precision {name!r}; use one of {', '.join(PRECISIONS)}"
        )
    if key == "auto":
        key = "reference" if device.type == "cuda" else "float32"
    if device.type != "cuda":
        if key == "fast":
            raise UserError(
                "--precision fast (bfloat16 weights) is for CUDA GPUs; on the CPU use float32"
            )
        return FLOAT32  # the reference's bfloat16 mode runs in float32 on the CPU too
    return {"float32": FLOAT32, "reference": REFERENCE_BF16, "fast": FAST_BF16}[key]


def set_matmul_precision(precision: Precision) -> None:
    """Let CUDA float32 matrix products use TF32 when the mode asks for it, and not otherwise
    (process-wide, as the reference runtime sets it)."""
    if not torch.cuda.is_available():
        return
    matmul = torch.backends.cuda.matmul
    if hasattr(matmul, "fp32_precision"):
        matmul.fp32_precision = "tf32" if precision.tf32 else "ieee"
    else:  # older torch
        matmul.allow_tf32 = precision.tf32
