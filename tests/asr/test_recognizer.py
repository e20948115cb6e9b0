"""Recognition through the real faster-whisper code on a tiny random-weight model built here.

Random weights give nonsense words, but the model is loaded, features computed, tokens decoded
and word times aligned for real.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from app.asr.models import resolve_model
from app.asr.recognizer import AsrConfig, Recognizer
from app.audio.files import read_audio
from app.core import Word
from app.errors import UserError

SR = 16000


def _config(folder) -> AsrConfig:
    return AsrConfig(
        model=str(folder),
        device="cpu",
        compute_type="int8",
        temperatures=(0.0,),
        max_new_tokens=48,
        allow_download=False,
    )


def test_demo_model_is_a_loadable_ct2_whisper(demo_model_dir):
    names = {p.name for p in demo_model_dir.iterdir()}
    assert {"model.bin", "config.json", "tokenizer.json"} <= names
    config = json.loads((demo_model_dir / "config.json").read_text())
    assert config["alignment_heads"]  # needed for word timing
    assert resolve_model(str(demo_model_dir)) == demo_model_dir


def test_building_again_reuses_the_cache(demo_model_dir):
    from app.asr.demo import build_demo_whisper

    stamp = (demo_model_dir / "model.bin").stat().st_mtime_ns
    assert build_demo_whisper(demo_model_dir.parent) == demo_model_dir
    assert (demo_model_dir / "model.bin").stat().st_mtime_ns == stamp


def test_words_with_times_on_the_utterance_timeline(demo_model_dir, speech_paths):
    audio, _ = read_audio(speech_paths[0], SR)
    rec = Recognizer(_config(demo_model_dir))
    words = rec.transcribe(audio)
    assert rec.loaded
    assert words, "the tiny model decoded nothing"
    duration = len(audio) / SR
    for w in words:
        assert isinstance(w, Word) and w.text == w.text.strip() and w.text
        assert 0.0 <= w.start <= w.end <= duration + 0.02
        assert 0.0 <= w.probability <= 1.0
    starts = [w.start for w in words]
    assert starts == sorted(starts)
    assert rec.transcribe(audio) == words  # greedy decoding is deterministic


def test_silent_or_empty_audio_never_reaches_the_model(demo_model_dir):
    rec = Recognizer(_config(demo_model_dir))
    assert rec.transcribe(np.zeros(0, np.float32)) == []
    assert rec.transcribe(np.zeros(SR, np.float32)) == []
    assert rec.transcribe(np.full(SR, 1e-4, np.float32)) == []  # -80 dBFS
    assert not rec.loaded


def test_device_and_compute_type_defaults():
    rec = Recognizer(AsrConfig(device="cpu"))
    assert (rec.device, rec.compute_type, rec.model_name) == ("cpu", "int8", "base.en")
    rec = Recognizer(AsrConfig(device="cuda"))
    assert (rec.compute_type, rec.model_name) == ("float16", "large-v3-turbo")
    rec = Recognizer(AsrConfig(device="cpu", compute_type="float32", model="small.en"))
    assert (rec.compute_type, rec.model_name) == ("float32", "small.en")


def test_model_sources_give_clear_errors(tmp_path, monkeypatch):
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="not a faster-whisper model folder"):
        resolve_model(str(tmp_path / "empty"))
    with pytest.raises(UserError, match="unknown recognition model"):
        resolve_model("gigantic-v9")
    # a known size that is not cached, with downloads off: no network, a clear message
    with pytest.raises(UserError, match="not in the local cache"):
        resolve_model("base.en", cache_dir=tmp_path / "hf", allow_download=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(UserError, match="not in the local cache"):
        resolve_model("tiny.en", cache_dir=tmp_path / "hf")


def test_a_cached_model_resolves_offline(tmp_path, monkeypatch, demo_model_dir):
    """A model laid out in the Hugging Face cache is found with no network (offline mode)."""
    repo = tmp_path / "hf" / "models--Systran--faster-whisper-base.en"
    commit = "0" * 40
    snap = repo / "snapshots" / commit
    snap.mkdir(parents=True)
    for f in demo_model_dir.iterdir():
        (snap / f.name).write_bytes(f.read_bytes())
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert resolve_model("base.en", cache_dir=tmp_path / "hf") == snap
