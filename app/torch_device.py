"""The one torch-device resolver: what `--device` (or a setting) means for torch.

Dia2, Mimi, the demo models and the local reply model all resolve their device here, so "auto"
means the same everywhere: CUDA when torch can use a GPU, else the CPU. (Sound devices are found
by `app.audio.devices.find_sound_device`; where recognition runs is CTranslate2's own question,
`app.asr.recognizer.pick_device`.)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.errors import UserError

if TYPE_CHECKING:
    import torch


def resolve_torch_device(device: str | torch.device = "auto") -> torch.device:
    """The torch device for `device`: "auto" is cuda when torch can use a GPU, else cpu; "cpu",
    "cuda" and "cuda:N" are taken as given.

    Raises `UserError` for a name torch does not know and for CUDA on a machine without it.
    """
    import torch

    if isinstance(device, str) and device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise UserError(f"unknown device {device!r}; use auto, cpu, cuda or cuda:N") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise UserError("CUDA was asked for but no CUDA GPU is usable here; use --device cpu")
    return dev
