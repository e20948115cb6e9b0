"""The memory table (app.assets.sizes) against the published shapes, and the one place where the
Dia2 model choice "auto" becomes a checkpoint (app.assets.setup.choose_dia2)."""

from __future__ import annotations

import copy

import pytest
import torch

from app.assets import sizes
from app.assets.setup import AUTO, Dia2Choice, choose_dia2

GIB = 2**30


def published(size: str) -> dict:
    """config.json of a published checkpoint from ../shared/docs/dia2-reference.md, section 2."""
    from app.assets.demo_dia2 import demo_config

    raw = copy.deepcopy(demo_config())
    raw["data"].update(text_vocab_size=49280, audio_vocab_size=2050, audio_pad_token_id=2049,
                       audio_bos_token_id=2048, delay_pattern=[16] + [18] * 31)
    layers, width, dep_layers, groups = {"1b": (30, 1024, 3, 3), "2b": (28, 2048, 4, 5)}[size]
    raw["model"]["decoder"] = {"n_layer": layers, "n_embd": width, "n_hidden": 6144,
                               "gqa_query_heads": 16, "kv_heads": 8, "gqa_head_dim": 128}
    raw["model"]["depformer"].update(n_layer=dep_layers, n_embd=1024, n_hidden=3072,
                                     gqa_query_heads=8, kv_heads=8, gqa_head_dim=128,
                                     apply_rope=True, text_embedding=False)
    raw["runtime"]["weights_schedule"] = [min(i * groups // 31, groups - 1) for i in range(31)]
    return raw


@pytest.mark.parametrize("size,repo", [("1b", sizes.DIA2_SMALL), ("2b", sizes.DIA2_LARGE)])
def test_dia2_parameters_are_the_published_shapes(size, repo):
    from app.tts.config import parse_config
    from app.tts.model import Dia2Model

    cfg = parse_config(published(size))
    with torch.device("meta"):  # shapes only: nothing is allocated
        model = Dia2Model(cfg)
    params = sum(t.numel() for t in model.parameters())
    entry = sizes.DIA2_SIZES[repo]
    assert params == entry.params
    assert (entry.layers, entry.kv_heads, entry.head_dim) == (
        cfg.decoder.n_layer, cfg.decoder.kv_heads, cfg.decoder.head_dim)
    assert entry.context_steps == cfg.max_context_steps + 1
    # the published files: 1B exactly (a 49,544-byte header), 2B as rounded (7.68 GB)
    if entry.file_exact:
        assert 0 < entry.file_bytes - 4 * params < 100_000
    else:
        assert round(4 * params / 1e9, 2) == round(entry.file_bytes / 1e9, 2) == 7.68


def test_mimi_is_counted_in_float32():
    from moshi.models import loaders

    mimi = loaders.get_mimi(None, num_codebooks=32)
    floats = sum(t.numel() for t in mimi.state_dict().values() if t.is_floating_point())
    assert floats == sizes.MIMI.params
    assert sizes.MIMI.params * 4 / GIB == pytest.approx(0.36, abs=0.005)


def test_the_reply_model_is_qwen_1_5b():
    from transformers import Qwen2Config

    c = Qwen2Config(vocab_size=151936, hidden_size=1536, intermediate_size=8960,
                    num_hidden_layers=28, num_attention_heads=12, num_key_value_heads=2,
                    tie_word_embeddings=True)
    head = c.hidden_size // c.num_attention_heads
    kv = c.num_key_value_heads * head
    per_layer = (c.hidden_size * (c.hidden_size + 2 * kv) + c.hidden_size + 2 * kv  # q,k,v + bias
                 + c.hidden_size * c.hidden_size  # o
                 + 3 * c.hidden_size * c.intermediate_size + 2 * c.hidden_size)  # mlp, norms
    total = c.vocab_size * c.hidden_size + c.num_hidden_layers * per_layer + c.hidden_size
    assert total == sizes.REPLY_LLM.params
    assert sizes.REPLY_LLM.params * 2 / GIB == pytest.approx(2.9, abs=0.05)


def test_setup_totals_per_precision():
    parts = sizes.setup_parts(sizes.DIA2_LARGE)  # reference: float32 weights, bf16 cache
    by = {p.name.split(" (")[0]: p for p in parts}
    assert by["Dia2-2B weights"].gpu_bytes == 1_919_556_608 * 4
    assert by["Dia2-2B key/value cache"].gpu_bytes == 2 * 28 * 2 * 1501 * 8 * 128 * 2
    assert by["Whisper large-v3-turbo"].gpu_bytes == 809_000_000 * 2
    assert by["Qwen2.5-1.5B-Instruct"].gpu_bytes == sizes.REPLY_LLM.params * 2
    assert [p.basis for p in parts].count("estimate") == 1
    reference = sizes.total_gpu(parts)
    fast = sizes.total_gpu(sizes.setup_parts(sizes.DIA2_LARGE, precision="fast"))
    fp32 = sizes.total_gpu(sizes.setup_parts(sizes.DIA2_LARGE, precision="float32"))
    assert reference - fast == 1_919_556_608 * 2  # only the weights differ
    assert fp32 - reference == 2 * 28 * 2 * 1501 * 8 * 128 * 2  # only the cache differs
    # the figures the user guide states
    assert round(reference / GIB, 1) == 13.2 and round(fast / GIB, 1) == 9.6
    small = sizes.total_gpu(sizes.setup_parts(sizes.DIA2_SMALL))
    assert round(small / GIB, 1) == 10.1
    no_llm = sizes.total_gpu(sizes.setup_parts(sizes.DIA2_LARGE, llm=None))
    assert reference - no_llm == sizes.REPLY_LLM.params * 2
    assert sizes.total_gpu(sizes.setup_parts(sizes.DIA2_LARGE, cuda=False)) == 0
    assert round(sizes.total_disk(parts) / GIB, 1) == 11.9
    with pytest.raises(ValueError, match="unknown precision"):
        sizes.setup_parts(sizes.DIA2_LARGE, precision="half")


def test_auto_picks_the_model_that_fits():
    need = sizes.total_gpu(sizes.setup_parts(sizes.DIA2_LARGE))
    assert choose_dia2(AUTO, gpu_total=141 * GIB).model == sizes.DIA2_LARGE  # an H200
    assert choose_dia2(AUTO, gpu_total=need).model == sizes.DIA2_LARGE
    small = choose_dia2(AUTO, gpu_total=need - 1)
    assert small.model == sizes.DIA2_SMALL and "less than the 2B setup needs" in small.reason
    # with bfloat16 weights the 2B setup fits a 12 GiB GPU; at the reference precision it does not
    assert choose_dia2(AUTO, precision="fast", gpu_total=12 * GIB).model == sizes.DIA2_LARGE
    assert choose_dia2(AUTO, precision="reference", gpu_total=12 * GIB).model == sizes.DIA2_SMALL
    assert choose_dia2(AUTO, precision="bfloat16", gpu_total=12 * GIB).model == sizes.DIA2_LARGE
    cpu = choose_dia2(AUTO, gpu_total=0)
    assert cpu.model == sizes.DIA2_SMALL and "CPU" in cpu.reason
    # the user's choice is never changed
    assert choose_dia2(sizes.DIA2_LARGE, gpu_total=0) == Dia2Choice(sizes.DIA2_LARGE, "")
    assert choose_dia2("/some/folder", gpu_total=0).reason == ""
    # without an injected reading it asks torch: this machine has no GPU
    assert choose_dia2(AUTO).model == sizes.DIA2_SMALL
    assert choose_dia2(AUTO, "cpu").model == sizes.DIA2_SMALL


def test_cli_window_and_download_resolve_auto_through_choose_dia2(monkeypatch, demo_dia2,
                                                                    tmp_path):
    """The command line's, the window's and download's default is "auto", and each resolves it
    through the one function."""
    from app.assets import setup
    from app.assets.choice import DEFAULT_MODEL, TtsChoice
    from app.commands.common import add_model_args
    from app.conversation.options import SessionOptions, to_session_options
    from app.settings import AppSettings

    assert DEFAULT_MODEL == AUTO == TtsChoice().model == SessionOptions().model
    assert to_session_options(AppSettings()).model == AUTO
    import argparse

    p = argparse.ArgumentParser()
    add_model_args(p)
    assert p.parse_args([]).model == AUTO

    calls = []
    real = setup.choose_dia2

    def spy(model="auto", device="auto", **kw):
        calls.append(model)
        return real(model, device, gpu_total=200 * GIB, **kw)

    monkeypatch.setattr(setup, "choose_dia2", spy)
    assert setup.setup_repos([AUTO], asr="base.en", llm="")[0] == sizes.DIA2_LARGE
    assert calls == [AUTO]

    # the command line and the window load through load_tts, which asks the same function
    from app.assets.demo_mimi import save_demo_mimi
    from app.assets.tts_loader import load_tts

    mimi = save_demo_mimi(tmp_path / "mimi.safetensors")
    monkeypatch.setattr(setup, "choose_dia2",
                        lambda model, device="auto", **kw: calls.append(model)
                        or Dia2Choice(str(demo_dia2), "test"))
    engine = load_tts(TtsChoice(mimi=str(mimi), device="cpu", progress=False))
    assert calls == [AUTO, AUTO] and engine.source == str(demo_dia2)
