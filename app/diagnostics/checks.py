"""What a check says (`Check`) and what `doctor` checks against (`DoctorOptions`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

Status = Literal["ok", "warn", "fail"]


@dataclass(frozen=True)
class Check:
    """The verdict of one check."""

    name: str  # what was checked, e.g. "python", "gpu", "model nari-labs/Dia2-2B"
    status: Status  # ok: fine; warn: works, with a caveat; fail: something the app needs is wrong
    detail: str  # what was found, in one line
    fix: str = ""  # what to do about it; "" when nothing needs doing
    data: Mapping[str, Any] = field(default_factory=dict)  # the values behind it, for --json

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "status": self.status, "detail": self.detail,
                "fix": self.fix, "data": dict(self.data)}


@dataclass(frozen=True)
class DoctorOptions:
    """What `doctor` checks against."""

    model: str = "auto"  # the Dia2 checkpoint (repo or folder); auto: the one that fits the GPU
    demo: bool = False  # check for the demo setup (tiny models built locally) instead
    asr: str = "auto"  # recognition model size or repo; auto: the one the app picks on this machine
    precision: str = "auto"  # Dia2's precision on the GPU: auto (= reference), reference, fast, float32
    llm: str = "Qwen/Qwen2.5-1.5B-Instruct"  # the local reply model; "": replies from a server
    audio: bool = True  # open every sound device briefly
    cache_dir: Path | None = None  # Hugging Face cache; None: the standard one (HF_HUB_CACHE)
