"""The temporal decoder (`transformer.*` in the checkpoint): one step per frame.

Input per step: text tokens (main, second) and the K audio tokens of every row; output: the
normed hidden state (fed to the depformer), the action logits and the codebook-0 logits.
"""

from __future__ import annotations

import torch
from torch import nn

from app.tts.cache import KVCache
from app.tts.config import Dia2Config
from app.tts.layers import GatedMlp, Linear, RMSNorm, Rotary, TextEmbedding, attend, cache_mask


class DecoderAttention(nn.Module):
    """Grouped-query attention with per-head q/k RMSNorm, RoPE and scale 1.0."""

    def __init__(self, dim: int, heads: int, kv_heads: int, head_dim: int, eps: float) -> None:
        super().__init__()
        self.heads, self.kv_heads, self.head_dim = heads, kv_heads, head_dim
        self.q_proj = Linear(dim, heads * head_dim)
        self.k_proj = Linear(dim, kv_heads * head_dim)
        self.v_proj = Linear(dim, kv_heads * head_dim)
        self.o_proj = Linear(heads * head_dim, dim)
        self.q_norm = RMSNorm(head_dim, eps)
        self.k_norm = RMSNorm(head_dim, eps)

    def forward(self, x, rotary, pos, k_cache, v_cache, write_index, mask):
        b, t, _ = x.shape
        q = self.q_norm(self.q_proj(x).view(b, t, self.heads, self.head_dim))
        k = self.k_norm(self.k_proj(x).view(b, t, self.kv_heads, self.head_dim))
        v = self.v_proj(x).view(b, t, self.kv_heads, self.head_dim)
        q = rotary.apply(q, pos)
        k = rotary.apply(k, pos)
        return self.o_proj(attend(q, k, v, k_cache, v_cache, write_index, mask))


class DecoderLayer(nn.Module):
    def __init__(self, cfg: Dia2Config) -> None:
        super().__init__()
        d = cfg.decoder
        self.pre_norm = RMSNorm(d.n_embd, cfg.norm_eps)
        self.attn = DecoderAttention(d.n_embd, d.heads, d.kv_heads, d.head_dim, cfg.norm_eps)
        self.post_norm = RMSNorm(d.n_embd, cfg.norm_eps)
        self.mlp = GatedMlp(d.n_embd, d.n_hidden, d.mlp_activations)

    def forward(self, x, rotary, pos, k_cache, v_cache, write_index, mask):
        x = x + self.attn(self.pre_norm(x), rotary, pos, k_cache, v_cache, write_index, mask)
        return x + self.mlp(self.post_norm(x))


class Decoder(nn.Module):
    """Holds weights only; caches and positions are passed in."""

    _table_offsets: torch.Tensor  # buffer: long [K], codebook k's first row in the flat table

    def __init__(self, cfg: Dia2Config) -> None:
        super().__init__()
        d, data = cfg.decoder, cfg.data
        self.cfg = cfg
        k = data.num_codebooks
        # All K audio tables in one tensor, so one gather embeds every codebook. The checkpoint's
        # `audio_embeds.{k}.weight` load into its slices (see `checkpoint_tensors`).
        self.audio_embed_table = nn.Parameter(torch.zeros(k, data.audio_vocab_size, d.n_embd))
        self.text_embed = TextEmbedding(
            data.text_vocab_size, d.n_embd, data.text_pad_token_id, d.low_rank_dim
        )
        self.layers = nn.ModuleList(DecoderLayer(cfg) for _ in range(d.n_layer))
        self.norm = RMSNorm(d.n_embd, cfg.norm_eps)
        self.action_head = Linear(d.n_embd, data.action_vocab_size)
        self.cb0_head = Linear(d.n_embd, data.audio_vocab_size)
        self.compute_dtype = torch.float32  # activations' dtype (set by Dia2Model.empty)
        self.register_buffer("_table_offsets", torch.empty(k, dtype=torch.long), persistent=False)
        self.init_buffers()

    def init_buffers(self) -> None:
        """(Re)compute the non-persistent buffers, e.g. after `to_empty`."""
        k, vocab = self.audio_embed_table.shape[:2]
        with torch.no_grad():
            # arange with a step, not arange * vocab: on the meta device an arithmetic op makes
            # torch import its meta kernels (about 180 MB of resident memory) at every load
            offsets = torch.arange(0, k * vocab, vocab, device=self._table_offsets.device)
            self._table_offsets.copy_(offsets)

    def checkpoint_tensors(self, prefix: str) -> dict[str, torch.Tensor]:
        """Checkpoint name -> the tensor (or slice) it fills."""
        out: dict[str, torch.Tensor] = {f"{prefix}{n}": p for n, p in self.named_parameters() if n != "audio_embed_table"}
        for i in range(self.audio_embed_table.shape[0]):
            out[f"{prefix}audio_embeds.{i}.weight"] = self.audio_embed_table.data[i]
        return out

    def embed(self, tokens: torch.Tensor) -> torch.Tensor:
        """tokens: long [B, T, 2 + K] -> [B, T, n_embd] in the activations' dtype.

        The text embedding comes first and each codebook's embedding is added to it in turn,
        rounding to the activations' dtype after every addition, as the reference does.
        """
        x = self.text_embed(tokens[..., 0], tokens[..., 1])
        flat = self.audio_embed_table.view(-1, self.audio_embed_table.shape[-1])
        audio = flat[tokens[..., 2:] + self._table_offsets]  # [B, T, K, n_embd]
        for k in range(audio.shape[-2]):
            x = x + audio[..., k, :]
            if x.dtype != self.compute_dtype:
                x = x.to(self.compute_dtype)
        return x

    def forward(
        self,
        tokens: torch.Tensor,
        rotary: Rotary,
        pos: torch.Tensor,
        cache: KVCache,
        write_index: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Run T steps with a causal mask over the cache.

        tokens: long [B, T, 2 + K]; pos: long [T] RoPE positions; write_index: long [T] cache
        slots (consecutive, starting at the cache's length). Returns hidden [B, T, n_embd] (normed),
        action logits [B, T, A] and codebook-0 logits [B, T, V].
        """
        cache.length.add_(tokens.shape[1])
        mask = cache_mask(cache.length, cache.capacity, write_index, self.compute_dtype)
        x = self.embed(tokens)
        for i, layer in enumerate(self.layers):
            x = layer(x, rotary, pos, cache.keys[i], cache.values[i], write_index, mask)
        h = self.norm(x)
        return h, self.action_head(h), self.cb0_head(h)
