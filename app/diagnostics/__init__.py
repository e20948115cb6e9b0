"""`doctor`: checks of the machine, each a one-line verdict (ok / warn / fail) with what to fix.

The checks live in small modules with no Qt and no printing, so the command line, the desktop
window and the tests all use the same logic:

- `system`: Python, library versions, PortAudio;
- `gpu`: the NVIDIA GPU and its driver: whether torch can use it, and if not why (the driver
  against what torch's CUDA build needs) and what to do; its memory against the setup's;
- `recognition`: where speech recognition will run, and whether CTranslate2's CUDA 12 libraries
  are there;
- `audio`: every sound device opened briefly;
- `models`: the setup's memory part by part (`app.assets.sizes`), which models are cached (and
  their size), whether the app can run offline, where the app keeps its files.

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

    model: str = "auto"  # the Dia2 checkpoint (repo or folder); auto: the one that fits the GPU
    demo: bool = False  # check for the demo setup (tiny models built locally) instead
    asr: str = "auto"  # recognition model size or repo; auto: the one the app picks on this machine
    precision: str = "auto"  # Dia2's precision on the GPU: auto (= reference), reference, fast, float32
    llm: str = "Qwen/Qwen2.5-1.5B-Instruct"  # the local reply model; "": replies from a server
    audio: bool = True  # open every sound device briefly
    cache_dir: Path | None = None  # Hugging Face cache; None: the standard one (HF_HUB_CACHE)


def run_checks(options: DoctorOptions) -> list[Check]:
    """All checks, in the order they are shown."""
    from dataclasses import replace

    from app.assets.setup import choose_dia2
    from app.diagnostics import audio, gpu, models, recognition, system

    checks = [system.check_python(), *system.check_packages(), system.check_portaudio()]
    info = gpu.gpu_info()
    if not options.demo:
        picked = choose_dia2(options.model, precision=options.precision,
                             gpu_total=info.total_bytes)
        options = replace(options, model=picked.model)
        if picked.reason:
            checks.append(Check("dia2 model", "ok", f"auto: {picked.model} ({picked.reason})",
                                data={"model": picked.model, "reason": picked.reason}))
    need = models.gpu_need(options, cuda=info.available)
    checks.append(gpu.check_gpu(info, need, model=options.model, demo=options.demo))
    checks.append(recognition.check_recognition(options.asr, driver_gpus=info.gpus))
    if options.audio:
        checks.extend(audio.check_devices())
    checks.extend(models.check_memory(options, cuda=info.available))
    checks.extend(models.check_models(options, cuda=info.available))
    checks.extend(models.check_folders(options))
    return checks


def exit_code(checks: list[Check]) -> int:
    """1 when any check failed, else 0 (warnings do not fail)."""
    return 1 if any(c.status == "fail" for c in checks) else 0
