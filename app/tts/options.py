"""The user's generation options: one frozen dataclass, separate from the checkpoint's config."""

from __future__ import annotations

import math
from dataclasses import dataclass

from app.errors import UserError


@dataclass(frozen=True)
class GenerationOptions:
    """How to sample. Defaults are the published runtime's."""

    text_temperature: float = 0.6  # temperature of the text action; 0 means argmax
    audio_temperature: float = 0.8  # temperature of every audio codebook; 0 means argmax
    text_top_k: int = 50  # keep this many most likely actions before drawing
    audio_top_k: int = 50  # keep this many most likely codes before drawing
    cfg_scale: float = 2.0  # classifier-free guidance scale; 1.0 turns guidance off
    cfg_filter_k: int = 50  # guidance keeps the conditional logits of the top-k guided entries
    initial_padding: int = 2  # frames of forced padding before the first word
    include_prefix: bool = False  # keep the prefix audio (and its words) in the output
    seed: int | None = None  # seed for a repeatable run; None draws a fresh one
    max_frames: int | None = None  # stop after this many generated frames (None: context limit)

    def __post_init__(self) -> None:
        for name, value in (("temperature", self.text_temperature),
                            ("temperature", self.audio_temperature), ("--cfg", self.cfg_scale)):
            if not math.isfinite(value):
                raise UserError(f"{name} must be a number, not {value}")
        if self.text_temperature < 0 or self.audio_temperature < 0:
            raise UserError("a temperature cannot be negative (0 means always the likeliest)")
        if self.seed is not None and not 0 <= self.seed < 2**63:
            raise UserError(f"--seed must be a whole number from 0 to {2**63 - 1}")
        if self.text_top_k <= 0 or self.audio_top_k <= 0:
            raise UserError("--top-k must be a positive integer")
        if self.cfg_scale <= 0:
            raise UserError("--cfg must be positive (1.0 turns guidance off)")
        if self.cfg_filter_k <= 0:
            raise UserError("cfg_filter_k must be a positive integer")
        if self.initial_padding < 0:
            raise UserError("initial_padding cannot be negative")
        if self.max_frames is not None and self.max_frames <= 0:
            raise UserError("max_frames must be positive")

    @classmethod
    def greedy(cls, **overrides: object) -> GenerationOptions:
        """Argmax everywhere (the reference-exact mode of the parity fixture)."""
        values: dict[str, object] = {"text_temperature": 0.0, "audio_temperature": 0.0}
        values.update(overrides)
        return cls(**values)  # type: ignore[arg-type]
