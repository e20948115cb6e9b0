"""The CUDA 12 libraries CTranslate2 needs for recognition on a GPU, loaded from their wheels.

CTranslate2's wheels (under faster-whisper) carry their CUDA runtime inside, but open CUDA 12's
cuBLAS (`libcublas.so.12`) by name at run time, the first time a model on the GPU multiplies a
matrix. torch, on the other hand, ships CUDA 13's libraries, whose names end in `.so.13`. Without
a CUDA 12 toolkit on the system, recognition on the GPU would fail with "Library libcublas.so.12
is not found or cannot be loaded".

The project therefore depends (Linux x86_64) on the `nvidia-cublas-cu12` wheel, which installs
`nvidia/cublas/lib/libcublas.so.12` and `libcublasLt.so.12` into site-packages, with
`nvidia-cuda-nvrtc-cu12` (`nvidia/cuda_nvrtc/lib/libnvrtc.so.12`, which cuBLAS opens for some
kernels). `preload()` opens them by their full paths before CTranslate2 loads a model on CUDA:
once a library with that soname is in the process, the dynamic linker hands it to CTranslate2's
own `dlopen("libcublas.so.12")`. They are opened with local symbol scope, and cuBLAS versions its
symbols (`cublasCreate_v2@@libcublas.so.12`), so torch's CUDA 13 cuBLAS is not disturbed.

The folders searched are every `sys.path` entry (the wheels' `nvidia/.../lib` layout) and, in the
PyInstaller bundle, its `sys._MEIPASS` folder, where packaging/dia2chat.spec puts the libraries
at the top level beside torch's (PyInstaller collects a library's dependencies there, so a
sub-folder would hold a second copy of the 750 MB cuBLASLt). No torch import here.
"""

from __future__ import annotations

import ctypes
import logging
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

#: (sub-folder of site-packages, file name, required), in the order they are opened.
LIBRARIES = (
    ("nvidia/cuda_nvrtc/lib", "libnvrtc.so.12", False),
    ("nvidia/cublas/lib", "libcublasLt.so.12", True),
    ("nvidia/cublas/lib", "libcublas.so.12", True),
)
WHEELS = "nvidia-cublas-cu12 (with nvidia-cuda-nvrtc-cu12)"  # what provides them


@dataclass(frozen=True)
class CudaLibs:
    """What `preload` found and opened."""

    loaded: tuple[str, ...]  # full paths opened (or already open), in order
    missing: tuple[str, ...]  # required file names not found in any folder searched
    error: str  # why a library that was found could not be opened ("" when none failed)
    applies: bool = True  # False off Linux: CTranslate2 finds CUDA there by other means

    @property
    def ok(self) -> bool:
        """Whether every required library is open (or nothing is needed on this system)."""
        return not self.applies or (not self.missing and not self.error)

    def describe(self) -> str:
        """One line for logs and `doctor`."""
        if not self.applies:
            return "not needed on this system"
        if self.error:
            return f"CUDA 12 cuBLAS could not be opened: {self.error}"
        if self.missing:
            return (f"{', '.join(self.missing)} not found (the {WHEELS} wheel is not installed "
                    "and no folder searched holds it)")
        cublas = next(p for p in self.loaded if p.endswith("libcublas.so.12"))
        return f"CUDA 12 cuBLAS from {Path(cublas).parent}"


def bundle_folder() -> Path | None:
    """The PyInstaller bundle's folder of libraries (None when not running from the bundle)."""
    bundle = getattr(sys, "_MEIPASS", None)
    return Path(bundle) if bundle else None


def search_folders() -> list[Path]:
    """Where the wheels' files may be: the bundle's folder first, then every sys.path entry."""
    bundle = bundle_folder()
    roots = [bundle] if bundle else []
    roots.extend(Path(p) for p in sys.path if p)
    return list(dict.fromkeys(roots))


def find(folders: list[Path] | None = None) -> dict[str, Path]:
    """File name -> the first existing path of each library in `folders` (default:
    `search_folders()`): in a folder's `nvidia/.../lib`, or at the top of the bundle's folder;
    libraries not found are left out."""
    found: dict[str, Path] = {}
    bundle = bundle_folder()
    for root in folders if folders is not None else search_folders():
        for sub, name, _required in LIBRARIES:
            candidates = [root / sub / name] + ([root / name] if root == bundle else [])
            path = next((p for p in candidates if p.is_file()), None)
            if name not in found and path is not None:
                found[name] = path
    return found


_lock = threading.Lock()
_done: CudaLibs | None = None


def preload(folders: list[Path] | None = None, *, again: bool = False) -> CudaLibs:
    """Open the CUDA 12 libraries CTranslate2 needs (once per process; `again` retries).

    Never raises: what went wrong is in the result, and CTranslate2 reports its own error when it
    then cannot find cuBLAS.
    """
    global _done
    with _lock:
        if _done is not None and not again and folders is None:
            return _done
        if not sys.platform.startswith("linux"):
            result = CudaLibs((), (), "", applies=False)
        else:
            result = _open(find(folders))
        if result.ok:
            log.debug("recognition on CUDA: %s", result.describe())
        else:
            log.warning("recognition on CUDA: %s", result.describe())
        if folders is None:
            _done = result
        return result


def _open(found: dict[str, Path]) -> CudaLibs:
    loaded: list[str] = []
    missing = [name for _sub, name, required in LIBRARIES if required and name not in found]
    if missing:
        return CudaLibs((), tuple(missing), "")
    for _sub, name, _required in LIBRARIES:
        path = found.get(name)
        if path is None:
            continue
        try:
            ctypes.CDLL(str(path), mode=ctypes.RTLD_LOCAL)
        except OSError as exc:
            return CudaLibs(tuple(loaded), (), f"{path}: {exc}")
        loaded.append(str(path))
    return CudaLibs(tuple(loaded), (), "")
