"""The NVIDIA GPU, its driver, and whether torch can use it; if not, why and what to do.

Readings come through two I/O boundaries that tests replace: `nvidia-smi`'s output
(`run_nvidia_smi`) and the kernel driver's files under `/proc/driver/nvidia` (`version`, and one
folder per GPU under `gpus/`). The driver version is compared with what the installed torch
build's CUDA version needs (`DRIVER_FOR_CUDA`).

`DRIVER_FOR_CUDA` is NVIDIA's table of the oldest Linux driver that runs each CUDA major release
(CUDA Compatibility guide, "Minor Version Compatibility", table 1: CUDA 13.x >= 580, 12.x >= 525,
11.x >= 450; exact versions from the CUDA Toolkit release notes: 12.x 525.60.13, 11.x 450.80.02).
An application built with any toolkit of a major release runs on a driver at or above that
release's minimum.
"""

from __future__ import annotations

import logging
import re
import shutil
import subprocess
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

PROC_DRIVER = Path("/proc/driver/nvidia")  # the kernel driver's files (Linux)

#: CUDA major version -> the oldest Linux NVIDIA driver that runs it (see the module docstring).
DRIVER_FOR_CUDA: dict[int, tuple[int, ...]] = {
    13: (580,),
    12: (525, 60, 13),
    11: (450, 80, 2),
}


@dataclass(frozen=True)
class DriverReading:
    """What the system says about the NVIDIA driver, without asking torch."""

    version: str  # e.g. "550.54.14"; "" when it could not be read
    gpus: int  # NVIDIA GPUs the driver lists (0: none, or no driver)
    source: str  # where the version came from: "nvidia-smi", the /proc file, or ""


@dataclass(frozen=True)
class GpuInfo:
    """What torch and the driver say about the first GPU."""

    available: bool  # torch can use a CUDA device
    name: str  # the device's name ("" without one)
    free_bytes: int  # free memory on device 0 (0 without one)
    total_bytes: int  # total memory on device 0 (0 without one)
    driver: str  # NVIDIA driver version ("" when unknown)
    gpus: int  # NVIDIA GPUs the driver lists, whether or not torch can use them
    torch_cuda: str  # the CUDA version torch was built for ("" for a CPU-only torch)
    error: str  # why torch could not use the GPU, as torch said it ("" when fine or silent)
    torch_ok: bool = True  # torch imported
    torch_version: str = ""  # torch.__version__
    driver_source: str = ""  # where the driver version came from


@dataclass(frozen=True)
class GpuProblem:
    """Why an NVIDIA GPU that is present cannot be used, and what to do."""

    detail: str  # one sentence: what was found
    fix: str  # one sentence: what to do


# -- reading the driver -------------------------------------------------------------------------


def run_nvidia_smi() -> str | None:
    """nvidia-smi's list of driver versions, one line per GPU; None when it is absent or fails."""
    exe = shutil.which("nvidia-smi")
    if exe is None:
        return None
    try:
        out = subprocess.run([exe, "--query-gpu=driver_version", "--format=csv,noheader"],
                             capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired) as exc:
        log.debug("nvidia-smi failed: %s", exc)
        return None
    if out.returncode != 0:
        log.debug("nvidia-smi exited with %d: %s", out.returncode, out.stderr.strip())
        return None
    return out.stdout


def parse_smi(text: str | None) -> tuple[str, int]:
    """(driver version, GPU count) from `run_nvidia_smi`'s output; ("", 0) for none."""
    lines = [ln.strip() for ln in (text or "").splitlines() if ln.strip()]
    versions = [ln for ln in lines if re.fullmatch(r"\d+(\.\d+)+", ln)]
    return (versions[0], len(versions)) if versions else ("", 0)


def parse_proc_version(text: str) -> str:
    """The driver version from /proc/driver/nvidia/version ("NVRM version: NVIDIA UNIX x86_64
    Kernel Module  550.54.14  ..." or the open kernel module's wording); "" when absent."""
    for line in text.splitlines():
        if line.startswith("NVRM version"):
            match = re.search(r"\s(\d{3,}\.\d+(?:\.\d+)?)\s", line + " ")
            if match:
                return match.group(1)
    return ""


def read_driver(smi: Callable[[], str | None] | None = None,
                proc: Path | None = None) -> DriverReading:
    """The driver's version and GPU count: nvidia-smi first, then the kernel driver's files.

    Args:
        smi: returns nvidia-smi's output (None: absent); default `run_nvidia_smi`.
        proc: the kernel driver's folder; default `PROC_DRIVER`.
    """
    smi = smi if smi is not None else run_nvidia_smi
    proc = proc if proc is not None else PROC_DRIVER
    version, gpus = parse_smi(smi())
    if version:
        return DriverReading(version, gpus, "nvidia-smi")
    try:
        version = parse_proc_version((proc / "version").read_text(errors="replace"))
    except OSError:
        version = ""
    try:
        gpus = sum(1 for p in (proc / "gpus").iterdir() if p.is_dir())
    except OSError:
        gpus = 0
    if version and not gpus:
        gpus = 1  # a loaded driver with no gpus/ folder listed: at least one
    return DriverReading(version, gpus, str(proc / "version") if version else "")


def version_tuple(text: str) -> tuple[int, ...]:
    """ "550.54.14" -> (550, 54, 14); () when it does not start with a number."""
    parts = []
    for piece in text.strip().split("."):
        if not piece.isdigit():
            break
        parts.append(int(piece))
    return tuple(parts)


def required_driver(torch_cuda: str) -> tuple[int, ...] | None:
    """The oldest driver that runs a torch built for CUDA `torch_cuda` ("13.0"); None when the
    table does not know that release (or torch is a CPU-only build)."""
    major = version_tuple(torch_cuda)[:1]
    return DRIVER_FOR_CUDA.get(major[0]) if major else None


def _dotted(v: tuple[int, ...]) -> str:
    return ".".join(f"{n:02d}" if i else str(n) for i, n in enumerate(v))


# -- torch ---------------------------------------------------------------------------------------


def gpu_info(driver: DriverReading | None = None) -> GpuInfo:
    """Ask the driver and torch about the GPU (initialises CUDA when there is one)."""
    driver = driver if driver is not None else read_driver()
    base = dict(driver=driver.version, gpus=driver.gpus, driver_source=driver.source)
    try:
        import torch
    except Exception as exc:  # broken torch install
        return GpuInfo(False, "", 0, 0, torch_cuda="", error=str(exc), torch_ok=False, **base)
    cuda = torch.version.cuda or ""
    version = str(torch.__version__)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        available = torch.cuda.is_available()
    said = "; ".join(str(w.message).strip() for w in caught if "CUDA" in str(w.message))
    if not available:
        return GpuInfo(False, "", 0, 0, torch_cuda=cuda, error=said, torch_version=version, **base)
    try:
        free, total = torch.cuda.mem_get_info(0)
        name = torch.cuda.get_device_name(0)
    except RuntimeError as exc:
        return GpuInfo(False, "", 0, 0, torch_cuda=cuda, error=str(exc), torch_version=version,
                       **base)
    return GpuInfo(True, name, int(free), int(total), torch_cuda=cuda, error="",
                   torch_version=version, **base)


def gpu_problem(gpu: GpuInfo) -> GpuProblem | None:
    """Why an NVIDIA GPU the driver lists cannot be used by torch, and what to do; None when
    torch uses it, or when there is no NVIDIA GPU at all."""
    if gpu.available or not gpu.torch_ok or gpu.gpus == 0:
        return None
    seen = (f"{gpu.gpus} NVIDIA GPU{'s' if gpu.gpus > 1 else ''} "
            f"(driver {gpu.driver or 'version unknown'})")
    torch_name = f"torch {gpu.torch_version}".strip() if gpu.torch_version else "torch"
    if not gpu.torch_cuda:
        return GpuProblem(
            f"{seen} found, but {torch_name} is a CPU-only build, so Dia2 runs on the CPU",
            "install torch's CUDA build: on Linux x86_64 `uv sync` installs it (a CPU-only build "
            "comes from another package index or platform)")
    need = required_driver(gpu.torch_cuda)
    have = version_tuple(gpu.driver)
    if need is not None and have and have < need:
        return GpuProblem(
            f"{seen} found, but {torch_name} is built for CUDA {gpu.torch_cuda}, which needs "
            f"NVIDIA driver {_dotted(need)} or newer (NVIDIA's CUDA compatibility table); "
            f"driver {gpu.driver} is too old, so Dia2 runs on the CPU",
            f"update the NVIDIA driver to {need[0]} or newer (Ubuntu: `sudo ubuntu-drivers "
            f"install`, or `sudo apt install nvidia-driver-{need[0]}`), then reboot; or install "
            "a torch built for an older CUDA that your driver supports")
    why = f": {gpu.error}" if gpu.error else ""
    if not have:
        return GpuProblem(
            f"{seen} found, but torch cannot use it{why}, and the driver version could not be "
            f"read to say why; torch is built for CUDA {gpu.torch_cuda}, so Dia2 runs on the CPU",
            "run `nvidia-smi`: it must list the GPU; install or repair the NVIDIA driver "
            f"({_dotted(need) if need else 'a recent one'} or newer)")
    return GpuProblem(
        f"{seen} found and the driver is new enough for torch's CUDA {gpu.torch_cuda}, but torch "
        f"cannot use the GPU{why}; Dia2 runs on the CPU",
        "run `nvidia-smi` (after a driver update it may report a driver/library version "
        "mismatch: reboot), check that CUDA_VISIBLE_DEVICES does not hide the GPU and that you "
        "may open /dev/nvidia*")


# -- the doctor's check -----------------------------------------------------------------------------

GIB = 2**30


def check_gpu(gpu: GpuInfo, need: tuple[int, str], model: str = "", demo: bool = False):
    """The GPU against `need` = (bytes the chosen setup needs on it, how that was worked out):
    a GPU that torch cannot use fails with why and what to do; no GPU warns with the CPU's speed."""
    from app.diagnostics.checks import Check
    from app.diagnostics.notes import cpu_speed_note

    need_bytes, basis = need
    data = {"available": gpu.available, "name": gpu.name, "driver": gpu.driver,
            "driver_source": gpu.driver_source, "gpus": gpu.gpus, "torch_cuda": gpu.torch_cuda,
            "required_driver": ".".join(map(str, required_driver(gpu.torch_cuda) or ())),
            "torch_error": gpu.error, "free_bytes": gpu.free_bytes,
            "total_bytes": gpu.total_bytes, "need_bytes": need_bytes, "need_basis": basis}
    if not gpu.torch_ok:
        return Check("gpu", "fail", f"torch cannot be imported: {gpu.error}", "run `uv sync`",
                     data=data)
    if not gpu.available:
        problem = gpu_problem(gpu)
        if problem is not None:
            return Check("gpu", "fail", problem.detail, problem.fix, data=data)
        if demo:
            return Check("gpu", "ok", "no CUDA GPU; the demo models run on the CPU", data=data)
        return Check("gpu", "warn", f"no NVIDIA GPU found. {cpu_speed_note(model)}",
                     "use a machine with an NVIDIA GPU and driver (nvidia-smi must list it), "
                     "or try --demo", data=data)
    driver = f", driver {gpu.driver}" if gpu.driver else ""
    have = (f"{gpu.name}{driver}, {gpu.free_bytes / GIB:.1f} of {gpu.total_bytes / GIB:.1f} GiB "
            f"free; the setup needs about {need_bytes / GIB:.1f} GiB ({basis})")
    if gpu.total_bytes < need_bytes:
        return Check("gpu", "fail", have, "choose a smaller setup: --model nari-labs/Dia2-1B, "
                     "--precision fast (bfloat16 weights), replies from a server (--no-llm), or "
                     "a GPU with more memory", data=data)
    if gpu.free_bytes < need_bytes:
        return Check("gpu", "warn", have, "close other programs using the GPU (see nvidia-smi)",
                     data=data)
    return Check("gpu", "ok", have, data=data)
