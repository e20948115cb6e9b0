"""Classifier-free guidance and sampling: pure tensor functions, no host syncs.

Randomness comes in as a tensor of uniforms drawn beforehand, so the same functions run eagerly,
inside a CUDA graph, and on the CPU, and a seed fixes a run.
"""

from __future__ import annotations

import torch


def guide(logits: torch.Tensor, scale: float, filter_k: int) -> torch.Tensor:
    """Guided logits of the conditional row.

    logits: [B, V] with row 0 conditional and (when B == 2) row 1 unconditional. With guidance,
    guided = uncond + scale * (cond - uncond); the `filter_k` best guided entries keep their
    *conditional* logits and every other entry becomes -inf. Returns [V] (float32).
    """
    cond = logits[0].float()
    if logits.shape[0] == 1 or scale == 1.0:
        return cond
    guided = torch.lerp(logits[1].float(), cond, scale)
    k = min(filter_k, guided.shape[-1])
    threshold = torch.topk(guided, k, sorted=False).values.min()
    return torch.where(guided >= threshold, cond, torch.full_like(cond, float("-inf")))


def mask_tokens(logits: torch.Tensor, tokens: tuple[int, ...]) -> torch.Tensor:
    """Set the given entries to the lowest float (they can never win). logits: [V]."""
    out = logits.clone()
    low = torch.finfo(out.dtype).min
    for t in tokens:
        if 0 <= t < out.shape[-1]:
            out[t] = low
    return out


def sample(logits: torch.Tensor, temperature: float, top_k: int, uniform: torch.Tensor) -> torch.Tensor:
    """Draw one token from logits [V]; returns long [1].

    temperature <= 0: argmax. Otherwise softmax(logits / temperature), keep the `top_k` most
    likely, renormalise, and invert the cumulative distribution at `uniform` (a float in [0, 1)).
    """
    if temperature <= 0:
        return torch.argmax(logits, dim=-1, keepdim=True)
    probs = torch.softmax(logits.float() / temperature, dim=-1)
    k = min(top_k, probs.shape[-1])
    top_p, top_i = torch.topk(probs, k)
    cdf = torch.cumsum(top_p, dim=-1)
    target = uniform.view(1) * cdf[-1]
    pick = torch.searchsorted(cdf, target, right=True).clamp_(max=k - 1)
    return top_i[pick]
