"""Fixtures for the dialogue tests: a demo Dia2 with a short context (300 frames = 24 s, so a
short script already takes several generations), its Mimi, and the `say` command line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SHORT_CONTEXT = 300

DIALOGUE = """# a short episode
[S1] Hello there, how are you doing today? I hope the trip was fine.
[S2] I am fine, thanks for asking. What a lovely day it is! <break time="0.6s"/>
[S1] Yes. Let me think about that for a second. We could talk about music, books or films.
[S2] Oh, seriously? That's wild. Tell me more about it, I want to know everything.
[S1] Well, I think so. The quick brown fox jumps over the lazy dog, as they say.
"""


@pytest.fixture(scope="session")
def short_dia2(demo_root) -> Path:
    """The demo checkpoint with a 300-frame context, as a model folder."""
    from app.assets.demo_dia2 import demo_config, write_demo_checkpoint

    raw = demo_config()
    raw["runtime"]["max_context_steps"] = SHORT_CONTEXT
    return write_demo_checkpoint(demo_root / "dia2-short-context", raw=raw)


@pytest.fixture(scope="session")
def demo_mimi(demo_root) -> Path:
    from app.assets.tts_loader import ensure_demo_mimi

    return ensure_demo_mimi(demo_root)


@pytest.fixture(scope="session")
def short_engine(short_dia2, demo_mimi):
    from app.codec.mimi import MimiCodec
    from app.tts.engine import Dia2Engine

    engine = Dia2Engine.load_folder(short_dia2, device="cpu")
    engine.codec = MimiCodec.load(demo_mimi, num_codebooks=engine.config.data.num_codebooks)
    return engine


@pytest.fixture
def say_args(short_dia2, demo_mimi):
    """say_args(*extra) -> the `say` command line on the short-context demo model."""

    def make(*extra: str) -> list[str]:
        return ["say", *extra, "--model", str(short_dia2), "--mimi", str(demo_mimi),
                "--device", "cpu"]

    return make


def run_main(args: list[str], timeout: float = 600, **kw) -> subprocess.CompletedProcess:
    """`main.py args` in a child process with one torch thread."""
    env = dict(os.environ, OMP_NUM_THREADS="1")
    return subprocess.run([sys.executable, str(ROOT / "main.py"), *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout, **kw)
