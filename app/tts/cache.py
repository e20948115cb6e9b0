"""Preallocated key/value caches. Allocated once per generation state and reset, never grown.

Positions and lengths live in device tensors so that a step reads and writes the cache without a
host round trip (and can be captured in a CUDA graph).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class KVCache:
    """Keys and values of every layer: [layers, B, KV, S, D] each, plus the fill length."""

    keys: torch.Tensor
    values: torch.Tensor
    length: torch.Tensor  # long [] on the device: entries written so far

    @classmethod
    def allocate(
        cls, layers: int, batch: int, kv_heads: int, capacity: int, head_dim: int,
        *, device: torch.device, dtype: torch.dtype,
    ) -> KVCache:
        shape = (layers, batch, kv_heads, capacity, head_dim)
        return cls(
            keys=torch.zeros(shape, device=device, dtype=dtype),
            values=torch.zeros(shape, device=device, dtype=dtype),
            length=torch.zeros((), dtype=torch.long, device=device),
        )

    @property
    def capacity(self) -> int:
        return self.keys.shape[3]

    def reset(self) -> None:
        self.length.zero_()
