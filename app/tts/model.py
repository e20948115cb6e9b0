"""The Dia2 network: the temporal decoder plus the depformer. Weights only, no state."""

from __future__ import annotations

import torch
from torch import nn

from app.tts.config import Dia2Config
from app.tts.decoder import Decoder
from app.tts.depformer import Depformer
from app.tts.layers import RMSNorm, TextEmbedding
from app.tts.precision import FLOAT32, Precision


class Dia2Model(nn.Module):
    def __init__(self, cfg: Dia2Config) -> None:
        super().__init__()
        self.cfg = cfg
        self.transformer = Decoder(cfg)
        self.depformer = Depformer(cfg)

    @classmethod
    def empty(cls, cfg: Dia2Config, device: torch.device,
              precision: Precision = FLOAT32) -> Dia2Model:
        """Allocate without initialising (weights are loaded next), each tensor directly in its
        final dtype: RMS norm weights in the activations' dtype, every other weight in the
        weights' dtype (see app/tts/precision.py)."""
        with torch.device("meta"):
            model = cls(cfg)
        model.to(precision.weights)
        for module in model.modules():
            if isinstance(module, RMSNorm):
                module.to(precision.compute)
            elif isinstance(module, TextEmbedding):
                module.out_dtype = precision.compute
        heads = [model.transformer.action_head, model.transformer.cb0_head,
                 *model.depformer.logits]
        for head in heads:
            head.out_dtype = precision.logits
        model.transformer.compute_dtype = precision.compute
        # What `to_empty` does, with torch.empty instead of empty_like: empty_like of a meta tensor
        # makes torch import sympy (about 35 MB of resident memory) at every load.
        model = model._apply(lambda t: torch.empty(t.shape, dtype=t.dtype, device=device))
        model.transformer.init_buffers()
        model.depformer.init_buffers()
        return model.eval().requires_grad_(False)

    def checkpoint_tensors(self) -> dict[str, torch.Tensor]:
        """Every tensor the checkpoint must provide, by its name in `model.safetensors`."""
        out = self.transformer.checkpoint_tensors("transformer.")
        out.update(self.depformer.checkpoint_tensors("depformer."))
        return out
