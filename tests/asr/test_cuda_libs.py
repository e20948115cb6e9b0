"""CTranslate2's CUDA 12 cuBLAS comes from the nvidia-cublas-cu12 wheel and is found by name.

CTranslate2 opens `libcublas.so.12` by its bare name. After `preload()`, the dynamic linker must
hand that name the wheel's library, in a fresh process (no GPU is needed to open the file).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.asr import cuda_libs

ROOT = Path(__file__).resolve().parents[2]
linux_x86 = pytest.mark.skipif(
    not (sys.platform.startswith("linux") and os.uname().machine == "x86_64"),
    reason="the nvidia-cublas-cu12 wheel is a Linux x86_64 dependency")

PROBE = r"""
import ctypes, json, sys
from app.asr import cuda_libs
libs = cuda_libs.preload()
# What CTranslate2 does: open the library by its soname, then look a function up in it.
by_name = ctypes.CDLL("libcublas.so.12")
ours = ctypes.CDLL(next(p for p in libs.loaded if p.endswith("libcublas.so.12")))
same = ctypes.cast(by_name.cublasCreate_v2, ctypes.c_void_p).value == \
       ctypes.cast(ours.cublasCreate_v2, ctypes.c_void_p).value
maps = open("/proc/self/maps").read()
print(json.dumps({"ok": libs.ok, "loaded": libs.loaded, "same": same,
                  "lt_mapped": any(p.endswith("libcublasLt.so.12") and p in maps for p in libs.loaded)}))
"""


@linux_x86
def test_the_wheel_is_installed_and_found():
    found = cuda_libs.find()
    assert {"libcublas.so.12", "libcublasLt.so.12"} <= set(found)
    for name, path in found.items():
        assert path.is_file() and path.name == name
        assert "nvidia" in path.parts


@linux_x86
def test_after_preload_the_bare_name_opens_the_wheels_cublas():
    import json

    env = {k: v for k, v in os.environ.items() if k != "LD_LIBRARY_PATH"}
    out = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout)
    assert got["ok"] and got["same"] and got["lt_mapped"]
    assert [Path(p).name for p in got["loaded"]] == ["libnvrtc.so.12", "libcublasLt.so.12",
                                                     "libcublas.so.12"]


def test_missing_libraries_are_reported_with_the_wheel(tmp_path):
    libs = cuda_libs.preload([tmp_path])
    if not sys.platform.startswith("linux"):
        assert libs.ok and not libs.applies
        return
    assert not libs.ok and set(libs.missing) == {"libcublasLt.so.12", "libcublas.so.12"}
    assert "nvidia-cublas-cu12" in libs.describe()
    assert cuda_libs.preload([tmp_path]).missing == libs.missing  # a folder list is never cached


def test_the_bundle_is_searched_first(tmp_path, monkeypatch):
    """The PyInstaller bundle keeps the libraries at the top of sys._MEIPASS (packaging/)."""
    for name in ("libcublas.so.12", "libcublasLt.so.12"):
        (tmp_path / name).write_bytes(b"")
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)
    assert cuda_libs.search_folders()[0] == tmp_path
    found = cuda_libs.find()
    assert found["libcublas.so.12"] == tmp_path / "libcublas.so.12"
    assert found["libcublasLt.so.12"] == tmp_path / "libcublasLt.so.12"
    assert "libnvrtc.so.12" not in found or found["libnvrtc.so.12"].parent != tmp_path
    # a flat folder that is not the bundle is not searched that way
    monkeypatch.delattr(sys, "_MEIPASS")
    assert "libcublas.so.12" not in cuda_libs.find([tmp_path])


def test_a_library_that_cannot_be_opened_is_reported(tmp_path):
    if not sys.platform.startswith("linux"):
        pytest.skip("only Linux opens these libraries")
    lib = tmp_path / "nvidia" / "cublas" / "lib"
    lib.mkdir(parents=True)
    for name in ("libcublas.so.12", "libcublasLt.so.12"):
        (lib / name).write_text("not a library")
    libs = cuda_libs.preload([tmp_path])
    assert not libs.ok and "libcublasLt.so.12" in libs.error
    assert "could not be opened" in libs.describe()
