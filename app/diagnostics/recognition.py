"""Where speech recognition will run, and whether it can run there.

faster-whisper runs on CTranslate2, which brings its own CUDA 12 runtime but needs CUDA 12's
cuBLAS at run time (`app.asr.cuda_libs`); torch's CUDA 13 libraries do not serve it. This check
says which device and model the recogniser picks, whether cuBLAS 12 can be opened, and, when it
cannot, that recognition will move to the CPU (the app says so once and carries on there).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from app.diagnostics.checks import Check

log = logging.getLogger(__name__)


def ct2_cuda_devices() -> int:
    """CUDA devices CTranslate2 sees (0 when it sees none or CUDA cannot start)."""
    try:
        import ctranslate2

        return int(ctranslate2.get_cuda_device_count())
    except Exception as exc:  # noqa: BLE001 - a broken CUDA setup means no device for it
        log.debug("CTranslate2 cannot count CUDA devices: %s", exc)
        return 0


def ct2_cuda_types() -> tuple[set[str], str]:
    """(compute types CTranslate2 supports on CUDA device 0, why none: "" when fine)."""
    try:
        import ctranslate2

        return set(ctranslate2.get_supported_compute_types("cuda")), ""
    except Exception as exc:  # noqa: BLE001 - report whatever stops CUDA from starting
        return set(), str(exc).strip() or type(exc).__name__


def check_recognition(asr: str = "auto", *, devices: Callable[[], int] = ct2_cuda_devices,
                      types: Callable[[], tuple[set[str], str]] = ct2_cuda_types,
                      libs: Callable[[], object] | None = None, driver_gpus: int = 0) -> Check:
    """The recogniser's device and model, and on a GPU whether its CUDA libraries open.

    Args:
        asr: the recognition model the user named ("auto": the device's default).
        devices, types, libs: the I/O boundaries (CTranslate2's device count and compute types,
            `app.asr.cuda_libs.preload`), replaced in tests.
        driver_gpus: NVIDIA GPUs the driver lists (to say when CTranslate2 sees none of them).
    """
    from app.asr import cuda_libs
    from app.asr.recognizer import DEFAULT_MODELS

    libs = libs or cuda_libs.preload
    count = devices()
    named = asr != "auto"
    found = libs()  # opened even without a GPU: it shows they are there and load
    lib_data = {"cuda_libs": list(getattr(found, "loaded", ())), "cuda_libs_ok": bool(found.ok),
                "cuda_libs_detail": found.describe()}
    if count == 0:
        model = asr if named else DEFAULT_MODELS["cpu"]
        data = {"device": "cpu", "model": model, "ct2_cuda_devices": 0, **lib_data}
        if driver_gpus:
            return Check("recognition", "warn",
                         f"on the CPU ({model}, int8): CTranslate2 sees no CUDA device although "
                         f"the driver lists {driver_gpus} NVIDIA GPU(s)",
                         "CTranslate2 needs an NVIDIA driver for CUDA 12 (525.60.13 or newer); "
                         "see the gpu line", data=data)
        return Check("recognition", "ok", f"on the CPU: {model} (int8)", data=data)
    model = asr if named else DEFAULT_MODELS["cuda"]
    compute, why = types()
    data = {"device": "cuda", "model": model, "ct2_cuda_devices": count,
            "compute_types": sorted(compute), **lib_data}
    fallback = f"recognition will say so once and run on the CPU ({DEFAULT_MODELS['cpu']}, int8)"
    if not found.ok:
        return Check("recognition", "warn", f"{found.describe()}: {fallback}",
                     "run `uv sync` (it installs the nvidia-cublas-cu12 wheel on Linux x86_64), "
                     "or install CUDA 12's cuBLAS system-wide", data=data)
    if why or "float16" not in compute:
        reason = why or f"float16 is not supported there (only {', '.join(sorted(compute))})"
        return Check("recognition", "warn", f"CTranslate2 cannot run on the GPU: {reason}; "
                     f"{fallback}", "check the NVIDIA driver (see the gpu line)", data=data)
    return Check("recognition", "ok", f"on the GPU: {model} (float16), {found.describe()}",
                 data=data)
