"""Checks of the machine itself: Python, library versions, PortAudio, the GPU and its driver."""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import logging
import shutil
import subprocess
import sys
from dataclasses import dataclass

from app.diagnostics import Check

log = logging.getLogger(__name__)

PYTHON_RANGE = ((3, 10), (3, 14))  # pyproject's requires-python: >=3.10,<3.14
GIB = 2**30

# (distribution name, module name, required): the libraries whose versions matter.
PACKAGES = (
    ("torch", "torch", True),
    ("moshi", "moshi", True),
    ("faster-whisper", "faster_whisper", True),
    ("ctranslate2", "ctranslate2", True),
    ("huggingface-hub", "huggingface_hub", True),
    ("pyside6-essentials", "PySide6", False),
)


@dataclass(frozen=True)
class GpuInfo:
    """What torch and nvidia-smi say about the first GPU."""

    available: bool  # torch can use a CUDA device
    name: str  # the device's name ("" without one)
    free_bytes: int  # free memory on device 0 (0 without one)
    total_bytes: int  # total memory on device 0 (0 without one)
    driver: str  # NVIDIA driver version from nvidia-smi ("" when nvidia-smi is absent)
    smi_gpus: int  # GPUs nvidia-smi lists (0 when absent)
    torch_cuda: str  # the CUDA version torch was built for ("" for a CPU-only torch)
    error: str  # why torch could not be imported or queried ("" when fine)
    torch_ok: bool = True  # torch imported


def check_python() -> Check:
    v = sys.version_info
    low, high = PYTHON_RANGE
    text = f"{v.major}.{v.minor}.{v.micro}"
    if low <= (v.major, v.minor) < high:
        return Check("python", "ok", f"Python {text}", data={"version": text})
    return Check("python", "fail", f"Python {text} is not supported",
                 f"use Python {low[0]}.{low[1]} to {high[0]}.{high[1] - 1} (uv picks one: uv sync)",
                 data={"version": text})


def package_version(dist: str, module: str) -> str | None:
    """The installed version of a library, or None when it is not installed."""
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        pass
    if importlib.util.find_spec(module) is None:
        return None
    try:
        return str(getattr(importlib.import_module(module), "__version__", "unknown"))
    except Exception as exc:  # a broken install: report, do not crash the doctor
        log.debug("importing %s failed: %s", module, exc)
        return None


def check_packages() -> list[Check]:
    out = []
    for dist, module, required in PACKAGES:
        version = package_version(dist, module)
        name = f"library {module}"
        if version is not None:
            out.append(Check(name, "ok", f"{dist} {version}", data={"version": version}))
        elif required:
            out.append(Check(name, "fail", f"{dist} is not installed",
                             "run `uv sync` in the project folder", data={"version": None}))
        else:
            out.append(Check(name, "warn", f"{dist} is not installed (the desktop window needs it)",
                             "run `uv sync` in the project folder", data={"version": None}))
    return out


def check_portaudio() -> Check:
    try:
        import sounddevice
    except OSError:
        return Check("portaudio", "fail", "the PortAudio library is missing, so no sound device "
                     "can be opened", "install libportaudio2 (Debian/Ubuntu: sudo apt install "
                     "libportaudio2; macOS: brew install portaudio)")
    text = sounddevice.get_portaudio_version()[1]
    return Check("portaudio", "ok", f"sounddevice {sounddevice.__version__}, {text}",
                 data={"version": text, "sounddevice": sounddevice.__version__})


def _nvidia_smi() -> tuple[str, int]:
    """(driver version, number of GPUs) from nvidia-smi; ("", 0) when it is absent or fails."""
    exe = shutil.which("nvidia-smi")
    if exe is None:
        return "", 0
    try:
        out = subprocess.run([exe, "--query-gpu=driver_version", "--format=csv,noheader"],
                             capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired) as exc:
        log.debug("nvidia-smi failed: %s", exc)
        return "", 0
    lines = [ln.strip() for ln in out.stdout.splitlines() if ln.strip()]
    if out.returncode != 0 or not lines:
        return "", 0
    return lines[0], len(lines)


def gpu_info() -> GpuInfo:
    """Ask torch and nvidia-smi about the GPU (initialises CUDA when there is one)."""
    driver, smi_gpus = _nvidia_smi()
    base = dict(driver=driver, smi_gpus=smi_gpus)
    try:
        import torch
    except Exception as exc:  # broken torch install
        return GpuInfo(False, "", 0, 0, torch_cuda="", error=str(exc), torch_ok=False, **base)
    cuda = torch.version.cuda or ""
    if not torch.cuda.is_available():
        return GpuInfo(False, "", 0, 0, torch_cuda=cuda, error="", **base)
    try:
        free, total = torch.cuda.mem_get_info(0)
        name = torch.cuda.get_device_name(0)
    except RuntimeError as exc:
        return GpuInfo(False, "", 0, 0, torch_cuda=cuda, error=str(exc), **base)
    return GpuInfo(True, name, int(free), int(total), torch_cuda=cuda, error="", **base)


def check_gpu(gpu: GpuInfo, need: tuple[int, str], demo: bool = False) -> Check:
    """The GPU against `need` = (bytes the chosen models need on it, how that was worked out)."""
    need_bytes, basis = need
    data = {"available": gpu.available, "name": gpu.name, "driver": gpu.driver,
            "torch_cuda": gpu.torch_cuda, "free_bytes": gpu.free_bytes,
            "total_bytes": gpu.total_bytes, "need_bytes": need_bytes, "need_basis": basis}
    driver = f", driver {gpu.driver}" if gpu.driver else ""
    if not gpu.torch_ok:
        return Check("gpu", "fail", f"torch cannot be imported: {gpu.error}", "run `uv sync`",
                     data=data)
    if not gpu.available:
        if gpu.smi_gpus:
            built = f"CUDA {gpu.torch_cuda}" if gpu.torch_cuda else "the CPU only"
            return Check("gpu", "fail", f"nvidia-smi sees {gpu.smi_gpus} GPU(s){driver}, but "
                         f"torch (built for {built}) cannot use them{': ' + gpu.error if gpu.error else ''}",
                         "update the NVIDIA driver to one that supports this CUDA version, or "
                         "install a torch build for your driver", data=data)
        if demo:
            return Check("gpu", "ok", "no CUDA GPU; the demo models run on the CPU", data=data)
        return Check("gpu", "warn", "no CUDA GPU: the real models run on the CPU, far slower "
                     "than real time", "use a machine with an NVIDIA GPU and driver "
                     "(nvidia-smi must work), or try --demo", data=data)
    have = (f"{gpu.name}{driver}, {gpu.free_bytes / GIB:.1f} of {gpu.total_bytes / GIB:.1f} GiB "
            f"free; the models need about {need_bytes / GIB:.1f} GiB ({basis})")
    if gpu.total_bytes < need_bytes:
        return Check("gpu", "fail", have, "choose a smaller model (--model nari-labs/Dia2-1B) or "
                     "a GPU with more memory", data=data)
    if gpu.free_bytes < need_bytes:
        return Check("gpu", "warn", have, "close other programs using the GPU (see nvidia-smi)",
                     data=data)
    return Check("gpu", "ok", have, data=data)
