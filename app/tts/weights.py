"""Strict weight loading from `model.safetensors`.

Every tensor of the file must find its parameter, every parameter must be filled, and shapes must
match; otherwise one readable error names the offending tensor (and both shapes).
"""

from __future__ import annotations

import logging
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open

from app.errors import UserError
from app.tts.model import Dia2Model

log = logging.getLogger(__name__)


def load_weights(model: Dia2Model, path: str | Path) -> None:
    """Copy the checkpoint's tensors into `model` (converting dtype), one tensor at a time."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path} does not exist; a Dia2 checkpoint folder needs model.safetensors")
    targets = model.checkpoint_tensors()
    filled: set[str] = set()
    try:
        with safe_open(str(path), framework="pt", device="cpu") as f:
            names = list(f.keys())
            unknown = [n for n in names if n not in targets]
            if unknown:
                raise UserError(
                    f"{path.name}: tensor '{unknown[0]}' matches no parameter of this model"
                    f" ({len(unknown)} such tensors); is config.json from the same checkpoint?"
                )
            for name in names:
                target = targets[name]
                shape = tuple(f.get_slice(name).get_shape())
                if shape != tuple(target.shape):
                    raise UserError(
                        f"{path.name}: tensor '{name}' has shape {list(shape)} but config.json "
                        f"implies {list(target.shape)}; the weights and config do not match"
                    )
                with torch.no_grad():
                    target.copy_(f.get_tensor(name))
                filled.add(name)
    except SafetensorError as exc:
        raise UserError(
            f"{path} is not a readable safetensors file ({exc}); it may be truncated, "
            "delete it and download the checkpoint again"
        ) from None
    except OSError as exc:
        raise UserError(f"cannot read {path}: {exc}") from None
    missing = sorted(set(targets) - filled)
    if missing:
        raise UserError(
            f"{path.name}: tensor '{missing[0]}' is missing ({len(missing)} missing in all); "
            "the file is incomplete or from another model"
        )
    log.debug("loaded %d tensors from %s", len(filled), path)
