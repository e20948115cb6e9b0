"""doctor's GPU explanation, from injected driver readings (nvidia-smi's output and a fake
/proc/driver/nvidia folder) and this machine's real torch, which cannot use a GPU here."""

from __future__ import annotations

import pytest

from app.diagnostics import gpu as g
from app.diagnostics.notes import start_notes

PROPRIETARY = ("NVRM version: NVIDIA UNIX x86_64 Kernel Module  550.54.14  Thu Feb 22 01:44:30 "
               "UTC 2024\nGCC version:  gcc version 12.3.0 (Ubuntu 12.3.0-1ubuntu1~22.04)\n")
OPEN = ("NVRM version: NVIDIA UNIX Open Kernel Module for x86_64  580.65.06  Release Build  "
        "(dvs-builder@U16-I3-B03-4-3)  Tue Jul 15 20:30:00 UTC 2025\n")


def fake_proc(tmp_path, text: str | None, gpus: int):
    root = tmp_path / "nvidia"
    (root / "gpus").mkdir(parents=True)
    for i in range(gpus):
        (root / "gpus" / f"0000:0{i}:00.0").mkdir()
    if text is not None:
        (root / "version").write_text(text)
    return root


def info(driver: str, torch_cuda: str = "13.0", gpus: int = 1, available: bool = False,
         error: str = "") -> g.GpuInfo:
    return g.GpuInfo(available, "", 0, 0, driver=driver, gpus=gpus, torch_cuda=torch_cuda,
                     error=error, torch_version="2.9.0+cu130")


def test_driver_versions_from_proc_and_nvidia_smi(tmp_path):
    assert g.parse_proc_version(PROPRIETARY) == "550.54.14"
    assert g.parse_proc_version(OPEN) == "580.65.06"
    assert g.parse_proc_version("nothing here") == ""
    assert g.parse_smi("535.183.01\n535.183.01\n") == ("535.183.01", 2)
    assert g.parse_smi("NVIDIA-SMI has failed because it couldn't communicate with the driver") \
        == ("", 0)

    proc = fake_proc(tmp_path, PROPRIETARY, gpus=2)
    got = g.read_driver(smi=lambda: None, proc=proc)
    assert got == g.DriverReading("550.54.14", 2, str(proc / "version"))
    # nvidia-smi wins when it answers
    assert g.read_driver(smi=lambda: "575.57.08\n", proc=proc) == \
        g.DriverReading("575.57.08", 1, "nvidia-smi")
    # neither: no GPU known
    assert g.read_driver(smi=lambda: None, proc=tmp_path / "absent") == g.DriverReading("", 0, "")


def test_the_driver_table():
    assert g.required_driver("13.0") == (580,)
    assert g.required_driver("13.2") == (580,)
    assert g.required_driver("12.8") == (525, 60, 13)
    assert g.required_driver("11.8") == (450, 80, 2)
    assert g.required_driver("") is None and g.required_driver("14.0") is None
    assert g.version_tuple("550.54.14") < (580,) <= g.version_tuple("580.65.06")
    assert g.version_tuple("525.60.13") >= (525, 60, 13) > g.version_tuple("525.60.11")


def test_an_old_driver_for_a_cuda_13_torch_is_explained():
    p = g.gpu_problem(info("550.54.14", "13.0"))
    assert "driver 550.54.14 is too old" in p.detail
    assert "CUDA 13.0" in p.detail and "580 or newer" in p.detail
    assert "Dia2 runs on the CPU" in p.detail
    assert "update the NVIDIA driver to 580 or newer" in p.fix and "reboot" in p.fix


def test_the_same_driver_is_fine_for_a_cuda_12_torch():
    p = g.gpu_problem(info("550.54.14", "12.8", error="CUDA unknown error"))
    assert "too old" not in p.detail
    assert "new enough" in p.detail and "CUDA unknown error" in p.detail
    assert "nvidia-smi" in p.fix and "CUDA_VISIBLE_DEVICES" in p.fix
    old = g.gpu_problem(info("470.256.02", "12.8"))
    assert "525.60.13 or newer" in old.detail and "too old" in old.detail


def test_other_reasons():
    cpu_build = g.gpu_problem(info("580.65.06", torch_cuda=""))
    assert "CPU-only build" in cpu_build.detail and "uv sync" in cpu_build.fix
    unknown = g.gpu_problem(info("", "13.0"))
    assert "could not be read" in unknown.detail and "580 or newer" in unknown.fix
    assert g.gpu_problem(info("550.54.14", gpus=0)) is None  # no NVIDIA GPU: nothing to explain
    assert g.gpu_problem(info("580.65.06", available=True)) is None


def test_real_torch_with_a_gpu_present_and_an_old_driver(tmp_path):
    """This machine's torch cannot use a GPU; with a driver reading that lists one, doctor says
    why from the installed torch's own CUDA version."""
    import torch

    reading = g.read_driver(smi=lambda: None, proc=fake_proc(tmp_path, PROPRIETARY, gpus=1))
    got = g.gpu_info(reading)
    assert not got.available and got.gpus == 1 and got.driver == "550.54.14"
    assert got.torch_cuda == (torch.version.cuda or "")
    check = g.check_gpu(got, (10 * 2**30, "test"), model="nari-labs/Dia2-1B")
    # The project installs torch's CUDA 13 build (a new CUDA major must be added to the table).
    assert g.required_driver(got.torch_cuda) == (580,), got.torch_cuda
    assert check.status == "fail"
    assert "driver 550.54.14 is too old" in check.detail and "580 or newer" in check.fix
    assert check.data["driver_source"].endswith("version") and check.data["gpus"] == 1


def test_no_gpu_at_all_warns_with_the_cpu_speed(tmp_path):
    got = g.gpu_info(g.read_driver(smi=lambda: None, proc=tmp_path / "absent"))
    check = g.check_gpu(got, (0, "test"), model="nari-labs/Dia2-1B")
    assert check.status == "warn"
    assert "0.55 s per 80 ms frame" in check.detail and "7 times slower" in check.detail
    assert g.check_gpu(got, (0, "demo"), demo=True).status == "ok"


@pytest.mark.parametrize("device", ["cpu", "cuda"])
def test_start_notes(device):
    old = info("550.54.14", "13.0")
    notes = start_notes(device, 1_076_244_736, "nari-labs/Dia2-1B", gpu=old)
    if device == "cuda":
        assert notes == []
        return
    assert len(notes) == 2
    assert "too old" in notes[0] and "To fix: Update the NVIDIA driver" in notes[0]
    assert "7 times slower than real time" in notes[1] and "nari-labs/Dia2-1B" in notes[1]
    # a tiny model on the CPU gets no speed note; an explicit --device cpu no GPU note
    assert start_notes("cpu", 200_000, gpu=old) == [notes[0]]
    assert start_notes("cpu", 200_000, asked_device="cpu", gpu=old) == []
