"""`doctor`: checks of the machine, each a one-line verdict (ok / warn / fail) with what to fix.

The checks live in small modules with no Qt and no printing, so the command line, the desktop
window and the tests all use the same logic:

- `system`: Python, library versions, PortAudio, the GPU and its driver against what the models
  need;
- `audio`: every sound device opened briefly;
- `models`: which models are cached (and their size), whether the app can run offline, where the
  app keeps its files; the table of what each model size needs (`MODEL_NEEDS`).

`run_checks` runs them in that order; `exit_code` gives 1 when any check failed, else 0.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

log = logging.getLogger(__name__)

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

    model: str = "nari-labs/Dia2-2B"  # the Dia2 checkpoint the user means to run (repo or folder)
    demo: bool = False  # check for the demo setup (tiny models built locally) instead
    asr: str = "auto"  # recognition model size or repo; auto: the one the app picks on this machine
    audio: bool = True  # open every sound device briefly
    cache_dir: Path | None = None  # Hugging Face cache; None: the standard one (HF_HUB_CACHE)


def run_checks(options: DoctorOptions) -> list[Check]:
    """All checks, in the order they are shown."""
    from app.diagnostics import audio, models, system

    checks = [system.check_python(), *system.check_packages(), system.check_portaudio()]
    gpu = system.gpu_info()
    need = models.gpu_need(options, cuda=gpu.available)
    checks.append(system.check_gpu(gpu, need, demo=options.demo))
    if options.audio:
        checks.extend(audio.check_devices())
    checks.extend(models.check_models(options, cuda=gpu.available))
    checks.extend(models.check_folders(options))
    return checks


def exit_code(checks: list[Check]) -> int:
    """1 when any check failed, else 0 (warnings do not fail)."""
    return 1 if any(c.status == "fail" for c in checks) else 0
