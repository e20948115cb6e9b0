"""doctor's recognition line: the recogniser's device and model, and on a GPU whether CTranslate2's
CUDA 12 libraries open. This machine's CTranslate2 sees no GPU (the real reading); the GPU cases
inject the device count and compute types, with the real library search."""

from __future__ import annotations

import sys

from app.asr import cuda_libs
from app.diagnostics.recognition import check_recognition, ct2_cuda_devices


def HALF():  # CTranslate2's compute types on a GPU that supports float16
    return {"float16", "int8_float16", "float32"}, ""


def test_on_this_machine_recognition_runs_on_the_cpu():
    assert ct2_cuda_devices() == 0
    c = check_recognition()
    assert c.status == "ok" and c.detail == "on the CPU: base.en (int8)"
    named = check_recognition("small.en")
    assert named.data["model"] == "small.en"


def test_a_gpu_the_driver_lists_but_ctranslate2_cannot_see():
    c = check_recognition(driver_gpus=1)
    assert c.status == "warn" and "sees no CUDA device" in c.detail
    assert "525.60.13" in c.fix


def test_a_gpu_with_the_wheels_libraries():
    c = check_recognition(devices=lambda: 1, types=HALF)
    if sys.platform.startswith("linux"):
        assert c.data["cuda_libs_ok"], c.detail
        assert "libcublas.so.12" in " ".join(c.data["cuda_libs"])
    assert c.status == "ok"
    assert c.detail.startswith("on the GPU: large-v3-turbo (float16)")


def test_a_gpu_without_cublas_12(tmp_path):
    c = check_recognition(devices=lambda: 1, types=HALF,
                          libs=lambda: cuda_libs.preload([tmp_path]))
    if not sys.platform.startswith("linux"):
        assert c.status == "ok"
        return
    assert c.status == "warn"
    assert "libcublas.so.12" in c.detail and "run on the CPU (base.en, int8)" in c.detail
    assert "uv sync" in c.fix and "nvidia-cublas-cu12" in c.fix


def test_a_gpu_where_cuda_cannot_start():
    c = check_recognition(devices=lambda: 1,
                          types=lambda: (set(), "CUDA driver version is insufficient"))
    assert c.status == "warn" and "insufficient" in c.detail and "base.en" in c.detail


def test_the_libraries_are_opened_and_reported_without_a_gpu_too():
    c = check_recognition()
    if sys.platform.startswith("linux"):
        assert c.data["cuda_libs_ok"] and c.data["cuda_libs"][-1].endswith("libcublas.so.12")
