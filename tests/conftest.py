"""Suite-wide fixtures: paths, the parity fixture, the demo checkpoint (built once per run)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures"
PARITY = FIXTURES / "dia2-tiny"
# Every parity fixture (what the reference runtime generated), by name.
PARITY_FIXTURES = {name: FIXTURES / name for name in ("dia2-tiny", "dia2-real-shape")}
SHARED = ROOT.parent / "shared"
SHARED_AUDIO = SHARED / "audio"

# The test models are tiny: one thread avoids oversubscribing a 2-core machine (the app's own
# per-component plan, app/threads.py, is overridden the same way).
torch.set_num_threads(1)
os.environ.setdefault("DIA2CHAT_THREADS", "dia2=1,reply=1,asr=1,dia2_alone=1")
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture(scope="session")
def parity_dir() -> Path:
    return PARITY


@pytest.fixture(scope="session")
def demo_root(tmp_path_factory) -> Path:
    """A per-run demo model cache, so tests never depend on the user's cache."""
    root = tmp_path_factory.mktemp("demo-models")
    os.environ["DIA2CHAT_DEMO_DIR"] = str(root)
    return root


@pytest.fixture(scope="session")
def demo_dia2(demo_root) -> Path:
    from app.assets.demo_dia2 import ensure_demo_dia2

    return ensure_demo_dia2(demo_root)


@pytest.fixture(scope="session")
def demo_models(demo_root):
    """(Dia2 engine with the demo Mimi attached, the demo's recogniser), on the CPU: the models
    of `--demo`, i.e. random-weight Dia2 and Mimi and the real Whisper base from its packages."""
    from app.asr.recognizer import Recognizer
    from app.assets.choice import TtsChoice
    from app.assets.packaged import packaged_asr_config
    from app.assets.tts_loader import load_tts

    engine = load_tts(TtsChoice(demo=True, device="cpu"))
    recognizer = Recognizer(packaged_asr_config(demo_root))
    return engine, recognizer


@pytest.fixture(scope="session")
def speech_files(tmp_path_factory) -> list[Path]:
    """Two real English speech recordings: ../shared/audio, else synthesised with espeak-ng."""
    recorded = [SHARED_AUDIO / "dia2-example-speaker2.wav", SHARED_AUDIO / "dia2-example-speaker1.wav"]
    if all(p.is_file() for p in recorded):
        return recorded
    espeak = shutil.which("espeak-ng")
    if espeak is None:
        pytest.skip("needs ../shared/audio or espeak-ng for speech")
    folder = tmp_path_factory.mktemp("speech")
    out = []
    for i, text in enumerate(["Hello there, how are you today?", "Tell me a short story please."]):
        path = folder / f"turn{i}.wav"
        subprocess.run([espeak, "-w", str(path), text], check=True, capture_output=True)
        out.append(path)
    return out


def pytest_collection_modifyitems(config, items):
    if not torch.cuda.is_available():
        skip = pytest.mark.skip(reason="needs a CUDA GPU")
        for item in items:
            if "gpu" in item.keywords:
                item.add_marker(skip)
    if not os.environ.get("DIA2CHAT_REAL_WEIGHTS"):
        skip = pytest.mark.skip(reason="needs the published checkpoints (set DIA2CHAT_REAL_WEIGHTS)")
        for item in items:
            if "real_weights" in item.keywords:
                item.add_marker(skip)
