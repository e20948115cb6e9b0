"""The depformer (`depformer.*` in the checkpoint): K - 1 stages a frame, stage s predicting
codebook s + 1 from the decoder's hidden state and codebook s's token.

Stage s uses weight group `weights_schedule[s]` for its input projection and attention
projections; its cache holds the stages already run in this frame and is emptied every frame.
"""

from __future__ import annotations

import torch
from torch import nn

from app.tts.cache import KVCache
from app.tts.config import Dia2Config
from app.tts.layers import (
    Embedding,
    GatedMlp,
    Linear,
    RMSNorm,
    Rotary,
    TextEmbedding,
    attend,
    cache_mask,
)


class ScheduledAttention(nn.Module):
    """Fused q/k/v projection per weight group; q/k RMSNorm shared; RoPE at the stage index."""

    def __init__(self, cfg: Dia2Config) -> None:
        super().__init__()
        d = cfg.depformer
        self.heads, self.head_dim = d.heads, d.head_dim
        self.schedule = cfg.weights_schedule
        self.in_proj = nn.ModuleDict(
            {str(g): Linear(d.n_embd, 3 * d.heads * d.head_dim) for g in cfg.weight_groups}
        )
        self.out_proj = nn.ModuleDict(
            {str(g): Linear(d.heads * d.head_dim, d.n_embd) for g in cfg.weight_groups}
        )
        self.q_norm = RMSNorm(d.head_dim, cfg.norm_eps)
        self.k_norm = RMSNorm(d.head_dim, cfg.norm_eps)

    def forward(self, x, stage, rotary, pos, k_cache, v_cache, write_index, mask):
        group = str(self.schedule[stage])
        b, t, _ = x.shape
        qkv = self.in_proj[group](x).view(b, t, 3, self.heads, self.head_dim)
        q = self.q_norm(qkv[:, :, 0])
        k = self.k_norm(qkv[:, :, 1])
        v = qkv[:, :, 2]
        if rotary is not None:
            q = rotary.apply(q, stage)
            k = rotary.apply(k, stage)
        return self.out_proj[group](attend(q, k, v, k_cache, v_cache, write_index, mask))


class DepformerLayer(nn.Module):
    def __init__(self, cfg: Dia2Config) -> None:
        super().__init__()
        d = cfg.depformer
        self.pre_norm = RMSNorm(d.n_embd, cfg.norm_eps)
        self.self_attention = ScheduledAttention(cfg)
        self.post_norm = RMSNorm(d.n_embd, cfg.norm_eps)
        self.mlp = GatedMlp(d.n_embd, d.n_hidden, d.mlp_activations)

    def forward(self, x, stage, rotary, pos, k_cache, v_cache, write_index, mask):
        x = x + self.self_attention(self.pre_norm(x), stage, rotary, pos, k_cache, v_cache, write_index, mask)
        return x + self.mlp(self.post_norm(x))


class Depformer(nn.Module):
    """Holds weights only; the per-frame cache is passed in."""

    _stage_index: torch.Tensor  # buffer: long [stages], 0, 1, ... (the stages' cache slots)

    def __init__(self, cfg: Dia2Config) -> None:
        super().__init__()
        d, data = cfg.depformer, cfg.data
        self.cfg = cfg
        stages = cfg.num_stages
        self.audio_embeds = nn.ModuleList(Embedding(data.audio_vocab_size, d.n_embd) for _ in range(stages))
        self.text_embed = (
            TextEmbedding(data.text_vocab_size, d.n_embd, data.text_pad_token_id, None)
            if d.text_embedding
            else None
        )
        self.depformer_in = nn.ModuleDict(
            {str(g): Linear(cfg.decoder.n_embd, d.n_embd) for g in cfg.weight_groups}
        )
        self.layers = nn.ModuleList(DepformerLayer(cfg) for _ in range(d.n_layer))
        self.norm = RMSNorm(d.n_embd, cfg.norm_eps)
        self.logits = nn.ModuleList(Linear(d.n_embd, data.audio_vocab_size) for _ in range(stages))
        # PAD and BOS can never be sampled: only the entries below both are kept.
        self.vocab_limit = min(data.audio_pad_token_id, data.audio_bos_token_id)
        self.register_buffer("_stage_index", torch.empty(max(stages, 1), dtype=torch.long), persistent=False)
        self.init_buffers()

    def init_buffers(self) -> None:
        """(Re)compute the non-persistent buffers, e.g. after `to_empty`."""
        with torch.no_grad():
            self._stage_index.copy_(torch.arange(self._stage_index.shape[0]))
        self._masks: dict[tuple[int, torch.dtype], torch.Tensor] = {}

    def _stage_mask(self, stage: int, capacity: int, dtype: torch.dtype) -> torch.Tensor:
        """Additive mask [1, 1, 1, S] letting stage s see stages 0..s (computed once per shape)."""
        key = (capacity, dtype)
        table = self._masks.get(key)
        if table is None:
            n = self._stage_index.shape[0]
            stages = torch.arange(n, device=self._stage_index.device)
            length = torch.tensor(capacity, device=stages.device)
            table = torch.cat([cache_mask(length, capacity, stages[i : i + 1], dtype) for i in range(n)])
            self._masks[key] = table
        return table[stage : stage + 1]

    def checkpoint_tensors(self, prefix: str) -> dict[str, torch.Tensor]:
        return {f"{prefix}{n}": p for n, p in self.named_parameters()}

    def stage(
        self,
        stage: int,
        hidden: torch.Tensor,
        prev_token: torch.Tensor,
        text: tuple[torch.Tensor, torch.Tensor] | None,
        rotary: Rotary | None,
        cache: KVCache,
    ) -> torch.Tensor:
        """One stage. hidden: [B, n_embd_decoder] (normed decoder output); prev_token: long [B];
        text: (main, second) long [B] each, used at stage 0 when the checkpoint embeds text.
        Returns logits [B, vocab_limit]."""
        group = str(self.cfg.weights_schedule[stage])
        token = self.audio_embeds[stage](prev_token).to(hidden.dtype)  # activations' dtype
        if stage == 0 and self.text_embed is not None and text is not None:
            token = token + self.text_embed(text[0], text[1])
        x = self.depformer_in[group](hidden) + token
        x = x.unsqueeze(1)  # [B, 1, d]
        index = self._stage_index[stage : stage + 1]
        mask = self._stage_mask(stage, cache.capacity, x.dtype)
        for i, layer in enumerate(self.layers):
            x = layer(x, stage, rotary, index, cache.keys[i], cache.values[i], index, mask)
        return self.logits[stage](self.norm(x[:, 0]))[:, : self.vocab_limit]
