"""The `reference` precision reproduces the published runtime's bfloat16 arithmetic: run on the
CPU, it gives token for token what the reference runtime gave in its bfloat16 mode forced onto the
CPU (`cases-reference-bf16-cpu.json` in both parity fixtures; tests/fixtures/README.md says how
they were made), through `generate` with either prefill and through streaming.

bfloat16 rounding turns a last-bit difference of a float32 product into another token, so these
tokens depend on the CPU kernels. They were recorded with the kernels pinned to ones every x86-64
CPU with AVX2 runs alike (the file's `pins`: ATen's AVX2 kernels, MKL's reproducible AVX2 branch,
one thread). The pins must be set before torch starts, so the runs happen in a child process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import torch

from app.bench.agreement import PATHS, PUBLIC_CASES, REFERENCE_BF16_CASES, load_cases
from tests.conftest import PARITY_FIXTURES, ROOT

RECORDED = {name: json.loads((folder / REFERENCE_BF16_CASES).read_text())
            for name, folder in PARITY_FIXTURES.items()}
CASES = [(name, case) for name, rec in RECORDED.items() for case in rec["cases"]]
IDS = [f"{name}:{case['name']}" for name, case in CASES]

CHILD = """
import json, sys
import torch
torch.set_num_threads(1)
from app.bench.agreement import run_fixture
from app.tts.precision import REFERENCE_BF16
runs = run_fixture(sys.argv[1], REFERENCE_BF16)
with open(sys.argv[2], "w") as f:
    json.dump({"cpu_capability": torch.backends.cpu.get_cpu_capability(), "runs": runs}, f)
"""


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Fixture name -> what our engine gave in REFERENCE_BF16 on the CPU under the recorded pins."""
    out = {}
    tmp = tmp_path_factory.mktemp("bf16-runs")
    for name, folder in PARITY_FIXTURES.items():
        target = tmp / f"{name}.json"
        env = {**os.environ, **RECORDED[name]["precision"]["pins"]}
        done = subprocess.run([sys.executable, "-c", CHILD, str(folder), str(target)], env=env,
                              cwd=ROOT, capture_output=True, text=True, timeout=900)
        assert done.returncode == 0, f"the bfloat16 run of {name} failed:\n{done.stderr[-3000:]}"
        out[name] = json.loads(target.read_text())
    return out


@pytest.mark.parametrize("name", sorted(PARITY_FIXTURES))
def test_runs_used_the_pinned_kernels(runs, name):
    """Without the pins the recorded tokens mean nothing here (a CPU without AVX2, or a torch
    that ignores ATEN_CPU_CAPABILITY, would fail every case below for that reason alone)."""
    assert runs[name]["cpu_capability"] == "AVX2"


@pytest.mark.parametrize("name", sorted(PARITY_FIXTURES))
def test_recorded_bfloat16_runs_differ_from_float32(name):
    """The fixture can tell the modes apart: a runtime that silently computed in float32 would
    not pass (the reference's float32 tokens differ from its bfloat16 ones in every case)."""
    public = {c["name"]: c["expected"]["audio_tokens"]
              for c in load_cases(PARITY_FIXTURES[name], PUBLIC_CASES)}
    for case in RECORDED[name]["cases"]:
        assert case["expected"]["audio_tokens"] != public[case["name"]], case["name"]


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize(("name", "case"), CASES, ids=IDS)
def test_reference_bf16_matches_the_reference_runtime(runs, name, case, path):
    got = runs[name]["runs"][case["name"]][path]
    expected = case["expected"]
    recorded_torch = RECORDED[name]["precision"]["torch"]
    note = ("" if torch.__version__ == recorded_torch else
            f" (recorded with torch {recorded_torch}, running {torch.__version__}: if the CPU "
            "kernels changed, record the file again as tests/fixtures/README.md says)")
    got_codes = torch.tensor(got["audio_tokens"])
    want = torch.tensor(expected["audio_tokens"])
    assert got_codes.shape == want.shape, f"frames {got_codes.shape} != {want.shape}{note}"
    differing = (got_codes != want).any(dim=0).nonzero()
    assert len(differing) == 0, f"first differing frame {int(differing[0])}{note}"
    assert [tuple(w) for w in got["timestamps"]] == [tuple(w) for w in expected["timestamps"]]
