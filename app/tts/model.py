"""The Dia2 network: the temporal decoder plus the depformer. Weights only, no state."""

from __future__ import annotations

import torch
from torch import nn

from app.tts.config import Dia2Config
from app.tts.decoder import Decoder
from app.tts.depformer import Depformer


class Dia2Model(nn.Module):
    def __init__(self, cfg: Dia2Config) -> None:
        super().__init__()
        self.cfg = cfg
        self.transformer = Decoder(cfg)
        self.depformer = Depformer(cfg)

    @classmethod
    def empty(cls, cfg: Dia2Config, device: torch.device, dtype: torch.dtype) -> Dia2Model:
        """Allocate without initialising (weights are loaded next)."""
        with torch.device("meta"):
            model = cls(cfg)
        model = model.to_empty(device=device).to(dtype)
        model.transformer.init_buffers()
        model.depformer.init_buffers()
        return model.eval().requires_grad_(False)

    def checkpoint_tensors(self) -> dict[str, torch.Tensor]:
        """Every tensor the checkpoint must provide, by its name in `model.safetensors`."""
        out = self.transformer.checkpoint_tensors("transformer.")
        out.update(self.depformer.checkpoint_tensors("depformer."))
        return out
