"""Building blocks shared by the decoder and the depformer: RMSNorm, RoPE, the gated MLP, the
two-stream text embedding, and attention over a preallocated cache.

All linear layers have no bias. Shapes: B = batch rows (2: conditional and unconditional),
H = query heads, KV = key/value heads, D = head width, S = cache capacity.

Precision (app/tts/precision.py): a `Linear` multiplies in its weights' dtype and hands back its
input's dtype, so float32 weights under bfloat16 activations give the reference runtime's
"float32 products, bfloat16 storage"; the heads hand back the logits' dtype instead. Where weights
and activations share a dtype, every cast is a no-op.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def _activation(name: str):
    if name in ("silu", "swish"):
        return F.silu
    if name == "gelu":
        return F.gelu
    if name == "relu":
        return F.relu
    return None  # "linear": identity


class Linear(nn.Linear):
    """A bias-free linear layer computing in its weights' dtype.

    Output dtype: `out_dtype` when set (the heads' logits), else the input's.
    """

    def __init__(self, in_features: int, out_features: int) -> None:
        super().__init__(in_features, out_features, bias=False)
        self.out_dtype: torch.dtype | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.linear(x.to(self.weight.dtype), self.weight)
        return y.to(self.out_dtype or x.dtype)


class RMSNorm(nn.Module):
    """Weight-only RMS normalisation over the last dimension."""

    def __init__(self, dim: int, eps: float) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.rms_norm(x, (x.shape[-1],), self.weight, self.eps)


class Rotary:
    """Rotate-half RoPE with a precomputed cos/sin table.

    Pair i of D/2 turns at 1 / (min_ts * (max_ts / min_ts) ** (2i / D)) radians per position.
    """

    def __init__(
        self, head_dim: int, min_ts: float, max_ts: float, positions: int, device: torch.device
    ) -> None:
        half = head_dim // 2
        fraction = (2.0 * torch.arange(0, half)) / head_dim
        timescale = min_ts * (max_ts / min_ts) ** fraction
        inv_freq = (1.0 / timescale).to(torch.float32)
        t = torch.arange(positions, dtype=torch.float32)
        freqs = torch.outer(t, inv_freq)
        emb = torch.cat((freqs, freqs), dim=-1)
        self.cos = emb.cos().to(device)  # [positions, D]
        self.sin = emb.sin().to(device)
        self.positions = positions

    def to(self, device: torch.device) -> Rotary:
        self.cos = self.cos.to(device)
        self.sin = self.sin.to(device)
        return self

    def apply(self, x: torch.Tensor, pos: torch.Tensor | int) -> torch.Tensor:
        """x: [B, T, heads, D]; pos: long [T] positions, or one int position. Returns x rotated."""
        if isinstance(pos, int):
            cos = self.cos[pos : pos + 1].unsqueeze(1)  # [1, 1, D]: a view, no gather
            sin = self.sin[pos : pos + 1].unsqueeze(1)
        else:
            cos = self.cos[pos].unsqueeze(1)  # [T, 1, D]
            sin = self.sin[pos].unsqueeze(1)
        if cos.dtype != x.dtype:
            cos, sin = cos.to(x.dtype), sin.to(x.dtype)
        x1, x2 = torch.chunk(x, 2, dim=-1)
        rotated = torch.cat((-x2, x1), dim=-1)
        return x * cos + rotated * sin


class GatedMlp(nn.Module):
    """wi -> (gate, up) halves -> act0(gate) * act1(up) -> wo."""

    def __init__(self, dim: int, hidden: int, activations: tuple[str, str]) -> None:
        super().__init__()
        self.hidden = hidden
        self.wi = Linear(dim, 2 * hidden)
        self.wo = Linear(hidden, dim)
        self._act0 = _activation(activations[0])
        self._act1 = _activation(activations[1])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        proj = self.wi(x).view(*x.shape[:-1], 2, self.hidden)
        gate, up = proj.unbind(dim=-2)
        if self._act0 is not None:
            gate = self._act0(gate)
        if self._act1 is not None:
            up = self._act1(up)
        return self.wo(gate * up)


class Embedding(nn.Module):
    """A lookup table (`weight` [vocab, dim]), initialised like nn.Embedding (standard normal)
    except on the meta device, where the values are never used: there nn.Embedding's init makes
    torch import its meta kernels, about 180 MB of resident memory, at every load."""

    def __init__(self, vocab: int, dim: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(vocab, dim))
        if not self.weight.is_meta:
            nn.init.normal_(self.weight)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return F.embedding(ids, self.weight)


class TextEmbedding(nn.Module):
    """Main and second text streams through one (optionally low-rank) table.

    main_proj(E[main]) + second_proj(E[second]), the second term only where second != PAD,
    computed in the weights' dtype and handed back in `out_dtype` (the activations' dtype).
    """

    def __init__(self, vocab: int, dim: int, pad_id: int, low_rank: int | None) -> None:
        super().__init__()
        base = low_rank if low_rank is not None else dim
        self.pad_id = pad_id
        self.embedding = Embedding(vocab, base)
        self.main_proj = Linear(base, dim)
        self.second_proj = Linear(base, dim)
        self.out_dtype: torch.dtype | None = None  # None: the weights' dtype

    def forward(self, main: torch.Tensor, second: torch.Tensor) -> torch.Tensor:
        """main, second: long [...] -> [..., dim]."""
        out_main = self.main_proj(self.embedding(main))
        out_second = self.second_proj(self.embedding(second))
        keep = (second != self.pad_id).unsqueeze(-1)
        out = out_main + torch.where(keep, out_second, torch.zeros_like(out_second))
        return out.to(self.out_dtype or out.dtype)


def cache_mask(length: torch.Tensor, capacity: int, query_positions: torch.Tensor, dtype) -> torch.Tensor:
    """Additive attention mask [1, 1, T, S]: query i (cache index query_positions[i]) sees
    cache entries j <= query_positions[i] and j < length."""
    j = torch.arange(capacity, device=length.device)
    allowed = (j.view(1, -1) <= query_positions.view(-1, 1)) & (j.view(1, -1) < length)
    zero = torch.zeros((), dtype=dtype, device=length.device)
    low = torch.full((), torch.finfo(dtype).min, dtype=dtype, device=length.device)
    return torch.where(allowed, zero, low).view(1, 1, *allowed.shape)


def attend(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    k_cache: torch.Tensor,
    v_cache: torch.Tensor,
    write_index: torch.Tensor,
    mask: torch.Tensor,
) -> torch.Tensor:
    """Write k, v at `write_index` into the caches and attend with scale 1.0.

    q: [B, T, H, D]; k, v: [B, T, KV, D]; caches: [B, KV, S, D]; write_index: long [T];
    mask: [1, 1, T, S]. Returns [B, T, H * D].
    """
    k_cache.index_copy_(2, write_index, k.transpose(1, 2))
    v_cache.index_copy_(2, write_index, v.transpose(1, 2))
    heads, kv_heads = q.shape[2], k.shape[2]
    out = F.scaled_dot_product_attention(
        q.transpose(1, 2),
        k_cache,
        v_cache,
        attn_mask=mask,
        scale=1.0,
        enable_gqa=heads != kv_heads,
    )
    b, _, t, d = out.shape
    return out.transpose(1, 2).reshape(b, t, heads * d)
