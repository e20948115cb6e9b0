"""The GPU check's comparison harness, run on the CPU with the demo model's shape: the same
harness `bench --gpu-check` runs on the published shapes on a GPU (where capturing works and the
bfloat16 modes are the real ones). Here capturing fails for real and falls back to eager frames,
and bfloat16 runs through the CPU's kernels; what is checked is that the harness compares what it
says it compares."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch

from app.assets.demo_dia2 import demo_config
from app.bench.gpu_check import (
    agreement,
    check_graphs,
    check_precisions,
    check_recognition,
    engines_sharing_weights,
)
from app.tts.precision import FAST_BF16, FLOAT32, REFERENCE_BF16
from tests.conftest import ROOT

SCRIPT = "[S1] Hello there, how are you? [S2] Fine, thanks."


@pytest.fixture(scope="module")
def tokenizer(demo_models):
    return demo_models[0].tokenizer


def test_agreement_counts():
    a = torch.zeros(4, 10, dtype=torch.long)
    b = a.clone()
    assert agreement(a, b) == {"steps": 10, "codes_equal": 1.0, "codebook0_equal": 1.0,
                               "first_difference": None}
    b[2, 7] = 5
    got = agreement(a, b)
    assert got["first_difference"] == 7 and got["codes_equal"] == pytest.approx(39 / 40, abs=1e-4)
    assert got["codebook0_equal"] == 1.0


def test_engines_share_weights_in_each_mode(tokenizer):
    engines = engines_sharing_weights(demo_config(), tokenizer,
                                      (FLOAT32, REFERENCE_BF16, FAST_BF16), device="cpu")
    base = dict(engines["float32"].model.named_parameters())
    ref = dict(engines["reference"].model.named_parameters())
    fast = dict(engines["fast"].model.named_parameters())
    for name, p in base.items():
        if name.endswith("norm.weight"):  # RMS norm weights live in the activations' dtype
            assert ref[name].dtype == torch.bfloat16
            assert torch.equal(ref[name], p.to(torch.bfloat16))
        else:  # the reference mode keeps float32 weights, bit for bit
            assert ref[name].dtype == torch.float32 and torch.equal(ref[name], p)
        assert fast[name].dtype == torch.bfloat16 and torch.equal(fast[name], p.to(torch.bfloat16))


def test_precision_comparison_runs(tokenizer):
    got = check_precisions(demo_config(), tokenizer, SCRIPT, 30, device="cpu")
    assert set(got) == {"reference", "fast"}
    for value in got.values():
        assert value["steps"] == 30 and 0.0 <= value["codes_equal"] <= 1.0


def test_graph_comparison_falls_back_and_matches(tokenizer):
    got = check_graphs(demo_config(), tokenizer, SCRIPT, 20, device="cpu")
    assert set(got) == {"float32", "reference", "fast"}
    for value in got.values():
        assert value["identical"] and value["graph_failure"]  # no GPU: capture failed, eager ran


@pytest.mark.skipif(torch.cuda.is_available(), reason="a GPU is present")
def test_gpu_check_without_a_gpu_says_so():
    out = subprocess.run([sys.executable, "main.py", "bench", "--gpu-check", "--json", "x.json"],
                         cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 2
    assert "needs an NVIDIA GPU" in out.stderr and len(out.stderr.strip().splitlines()) == 1
    assert not (ROOT / "x.json").exists()


@pytest.mark.skipif(torch.cuda.is_available(), reason="a GPU is present")
def test_recognition_part_reports_the_fallback_device():
    """Without a GPU the CUDA load fails for real; the recogniser falls back to the CPU, and the
    part reports where it ended up rather than failing."""
    got = check_recognition(None)
    assert got["device"] == "cpu" and got["transcribe_5s_ms"] > 0
