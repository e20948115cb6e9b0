"""Headless chat with the local reply model (`--demo`: SmolLM2-135M-Instruct from its packaged
GGUF file), run again and again as a real process: every run exits 0, and none aborts at exit
("terminate called without an active exception", exit 134, which a reply model's generation
thread still running at interpreter exit caused).

Each reply is capped at two frames, so the reply model is usually still writing when the reply
ends and the session closes: the case that aborted. The suite runs it twice;
`DIA2CHAT_EXIT_RUNS=20 uv run pytest tests/conversation/test_exit_clean.py` runs it 20 times in a
row (one test each).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


RUNS = int(os.environ.get("DIA2CHAT_EXIT_RUNS", "2"))


@pytest.mark.parametrize("run", range(RUNS))
def test_headless_run_with_the_local_reply_model_exits_cleanly(run, tmp_path, demo_root, demo_dia2,
                                                               speech_files):
    env = dict(os.environ, DIA2CHAT_DEMO_DIR=str(demo_root), OMP_NUM_THREADS="1", HF_HUB_OFFLINE="1")
    out = subprocess.run(
        [sys.executable, str(ROOT / "main.py"), "chat", "--demo", "--headless", "--no-greeting",
         "--max-frames", "2", "--user-audio", *map(str, speech_files), "--out", str(tmp_path / "s")],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=540)
    assert "terminate called" not in out.stderr, out.stderr[-600:]
    assert out.returncode == 0, out.stderr[-600:]
