"""Recognition on CUDA that cannot start moves to the CPU once, says so once, and goes on working.

This machine has no GPU, so a real faster-whisper load with device="cuda" fails here for real
(CTranslate2 raises "CUDA failed with error ..."): that real failure drives the fallback. Model
names are turned into the tiny demo Whisper's folders by an injected resolver (no download).
One case needs a model that loads on the GPU and fails later, which no real model does on this
machine: there the loader is replaced, and says so.
"""

from __future__ import annotations

import numpy as np
import pytest

from app.asr.recognizer import AsrConfig, Recognizer, load_whisper
from app.audio.files import read_audio
from app.errors import UserError

SR = 16000


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    """Two distinct demo Whisper folders: one stands for the GPU model, one for base.en."""
    from app.asr.demo import DemoWhisperConfig, build_demo_whisper

    root = tmp_path_factory.mktemp("whisper")
    gpu = build_demo_whisper(root / "gpu")
    cpu = build_demo_whisper(root / "cpu", DemoWhisperConfig(seed=7))
    assert gpu != cpu
    return {"large-v3-turbo": gpu, "base.en": cpu}


def _config(**kw) -> AsrConfig:
    return AsrConfig(temperatures=(0.0,), max_new_tokens=24, allow_download=False, **kw)


def _resolver(table, asked):
    def resolve(spec, cache_dir=None, allow_download=True):
        asked.append(spec)
        if spec not in table:
            raise UserError(f"the recognition model {spec!r} is not in the local cache")
        return table[spec]

    return resolve


def test_the_real_cuda_load_fails_here(folders):
    """The premise of these tests: CTranslate2 cannot open a model on CUDA on this machine."""
    import ctranslate2

    assert ctranslate2.get_cuda_device_count() == 0
    with pytest.raises(RuntimeError, match="CUDA"):
        load_whisper(str(folders["base.en"]), "cuda", "float16", 0)


def test_a_failed_cuda_load_moves_to_base_en_on_the_cpu(folders, speech_files):
    asked = []
    rec = Recognizer(_config(device="cuda"), resolver=_resolver(folders, asked))
    assert (rec.device, rec.compute_type, rec.model_name) == ("cuda", "float16", "large-v3-turbo")
    rec.load()
    assert asked == ["large-v3-turbo", "base.en"]
    assert (rec.device, rec.compute_type, rec.model_name) == ("cpu", "int8", "base.en")
    assert "CUDA" in rec.fallback
    notice = rec.take_notice()
    assert "cannot run on the GPU" in notice and "base.en (int8)" in notice
    assert "CUDA" in notice and "doctor" in notice
    assert rec.take_notice() is None  # said once

    audio, _ = read_audio(speech_files[0], SR)
    words = rec.transcribe(audio)
    assert words and rec.device == "cpu"
    # The words are base.en's: the same audio through the base.en folder directly.
    direct = Recognizer(_config(model=str(folders["base.en"]), device="cpu")).transcribe(audio)
    assert [w.text for w in words] == [w.text for w in direct]
    assert rec.take_notice() is None and asked == ["large-v3-turbo", "base.en"]


def test_without_base_en_cached_the_gpu_model_runs_on_the_cpu(folders, speech_files):
    asked = []
    only_gpu = {"large-v3-turbo": folders["large-v3-turbo"]}
    rec = Recognizer(_config(device="cuda"), resolver=_resolver(only_gpu, asked))
    audio, _ = read_audio(speech_files[0], SR)
    words = rec.transcribe(audio)  # loads on first use: the fallback happens inside
    assert words
    assert asked == ["large-v3-turbo", "base.en"]
    assert (rec.device, rec.model_name) == ("cpu", "large-v3-turbo")
    assert "large-v3-turbo (int8)" in rec.take_notice()


def test_a_named_model_stays_the_same_on_the_cpu(folders):
    rec = Recognizer(_config(model=str(folders["large-v3-turbo"]), device="cuda"))
    rec.load()
    assert rec.device == "cpu" and rec.model_name == str(folders["large-v3-turbo"])
    assert rec.take_notice()


def test_without_fallback_the_failure_is_a_clear_error(folders):
    rec = Recognizer(_config(model=str(folders["base.en"]), device="cuda", cpu_fallback=False))
    with pytest.raises(UserError, match="cannot load the recognition model .* on cuda"):
        rec.load()


class _FailsAfterProbe:
    """Stands in for a model on a GPU whose probe run passes and whose later runs fail, as a
    GPU that runs out of memory mid-session would; nothing on this machine can do it for real."""

    def __init__(self):
        self.calls = 0

    def transcribe(self, audio, **kw):
        self.calls += 1
        if self.calls > 1:
            raise RuntimeError("CUDA failed with error out of memory")
        return iter(()), None


def test_a_gpu_failing_mid_session_moves_to_the_cpu_and_recognises_that_turn(folders, speech_files):
    gpu_model = _FailsAfterProbe()

    def loader(path, device, compute_type, threads):
        return gpu_model if device == "cuda" else load_whisper(path, device, compute_type, threads)

    rec = Recognizer(_config(device="cuda"), loader=loader, resolver=_resolver(folders, []))
    rec.load()
    assert rec.device == "cuda" and gpu_model.calls == 1  # the probe ran and passed
    assert rec.take_notice() is None
    audio, _ = read_audio(speech_files[0], SR)
    words = rec.transcribe(audio)
    assert gpu_model.calls == 2
    assert words and rec.device == "cpu" and rec.model_name == "base.en"
    assert "out of memory" in rec.take_notice()
    rec.transcribe(np.zeros(100, np.float32))  # silence: no model call, still on the CPU
    assert gpu_model.calls == 2
