"""What the user chose for a session, as plain values: `SessionOptions`, built from the window's
settings by `to_session_options`, and the character's voice settings the user overrode.

Light on purpose (no torch, no models): the window builds these on its GUI thread before handing
them to the session's worker, which loads the models (app/conversation/setup.py).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.conversation.character import Character
from app.settings import AppSettings


@dataclass(frozen=True)
class SessionOptions:
    """The user's choices for one session."""

    demo: bool = False  # no download: real packaged Whisper base + SmolLM2, tiny random Dia2/Mimi
    model: str = "auto"  # Dia2 checkpoint (repo id or folder); auto: the one that fits the device
    mimi: str | None = None  # Mimi weights; None: the default
    device: str = "auto"  # where Dia2 and Mimi run
    precision: str = "auto"  # Dia2's precision (app/tts/precision.py)
    cuda_graphs: bool = True  # capture Dia2's frame step in CUDA graphs on the GPU
    asr_model: str | None = None  # Whisper size / folder; None: the default for the device
    brain: str = "character"  # "character", "demo", "script", "openai", "transformers", "typed"
    script: Path | None = None  # dialogue script for brain "script"
    llm_url: str | None = None  # OpenAI-compatible server for brain "openai"
    llm_model: str | None = None  # model name for "openai" / "transformers"


def to_session_options(settings: AppSettings) -> SessionOptions:
    """The `SessionOptions` the window's settings choose (models, devices, brain)."""
    return SessionOptions(
        demo=settings.demo,
        model=settings.model,
        mimi=settings.mimi,
        device=settings.device,
        precision=settings.precision,
        asr_model=settings.asr_model,
        brain=settings.brain,
        llm_url=settings.llm_url,
        llm_model=settings.llm_model,
    )


def voice_overrides(settings: AppSettings) -> dict[str, Any]:
    """The character's Dia2 settings the user overrode (`Dia2Settings` field -> value)."""
    out: dict[str, Any] = {}
    if settings.cfg_scale is not None:
        out["cfg_scale"] = settings.cfg_scale
    if settings.audio_temperature is not None:
        out["audio_temperature"] = settings.audio_temperature
    if settings.top_k is not None:
        out["top_k"] = settings.top_k
    return out


def with_voice_overrides(character: Character, settings: AppSettings) -> Character:
    """`character` with the user's Dia2 overrides applied to its `dia2` settings."""
    changes = voice_overrides(settings)
    if not changes:
        return character
    return dataclasses.replace(character, dia2=dataclasses.replace(character.dia2, **changes))
