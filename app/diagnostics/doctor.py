"""`doctor`: every check, in the order they are shown, and the exit code."""

from __future__ import annotations

from dataclasses import replace

from app.assets.setup import choose_dia2
from app.diagnostics import audio, gpu, models, recognition, system
from app.diagnostics.checks import Check, DoctorOptions


def run_checks(options: DoctorOptions) -> list[Check]:
    """All checks, in the order they are shown."""
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
