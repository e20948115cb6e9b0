"""Mistakes a user can make get a clear UserError, before any generation starts."""

from __future__ import annotations

import json
import shutil

import pytest
import torch
from safetensors.torch import load_file, save_file

from app.core import Word
from app.errors import UserError
from app.torch_device import resolve_torch_device
from app.tts.engine import Dia2Engine
from app.tts.options import GenerationOptions
from app.tts.prefix import PrefixTurn
from tests.conftest import PARITY


@pytest.fixture(scope="module")
def engine():
    return Dia2Engine.load_folder(PARITY, device="cpu", precision="float32")


@pytest.mark.parametrize(
    "script, message",
    [
        ("", "no words"),
        ("   [S1]  ", "no words"),
        ("[S3] Hello", "unknown tag [S3]"),
        ("[S1] Hello [laughs] there", "unknown tag [laughs]"),
        ('[S1] Hello <break time="fast"/> there', "malformed pause"),
        ("[S1] Hello <break time=\"1s\" there", "malformed pause"),
        ("[S1] Hello <b>there</b>", "unknown tag"),
        ('[S1] Hi <break time="90s"/> there', "at most"),
    ],
)
def test_bad_scripts(engine, script, message):
    with pytest.raises(UserError, match=message.replace("[", r"\[").replace("]", r"\]")):
        engine.generate(script, GenerationOptions.greedy())


def test_pause_tag_is_an_empty_entry(engine):
    entries = engine.parse('[S1] Hi <break time="1.5s"/> there')
    assert [e.text for e in entries] == ["Hi", "", "there"]
    assert entries[1].tokens == () and entries[1].padding == 19  # round(1.5 * 12.5)


def test_script_too_long_for_context_is_refused_before_generating(engine):
    # The fixture's context is 160 frames (12.8 s).
    long_script = "[S1] " + " ".join(["wonderful"] * 60)
    with pytest.raises(UserError, match=r"only 160 frames .* fit in the context; about \d+ of its 60 words fit"):
        engine.generate(long_script, GenerationOptions.greedy())


def test_prefix_too_long_for_context(engine):
    codes = torch.zeros(32, 200, dtype=torch.long)
    with pytest.raises(UserError, match="prefix"):
        engine.generate("[S1] Hi there.", GenerationOptions.greedy(), [PrefixTurn(1, (Word("a", 0, 1),), codes=codes)])


def test_prefix_codes_of_wrong_shape(engine):
    with pytest.raises(UserError, match=r"shape \[32, frames\]"):
        engine.generate("[S1] Hi there.", GenerationOptions.greedy(), [PrefixTurn(1, (Word("a", 0, 1),), codes=torch.zeros(8, 10, dtype=torch.long))])


def test_bad_options():
    with pytest.raises(UserError, match="top-k"):
        GenerationOptions(audio_top_k=0)
    with pytest.raises(UserError, match="cfg"):
        GenerationOptions(cfg_scale=0)


def test_cuda_asked_for_but_absent():
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(UserError, match="CUDA was asked for"):
        resolve_torch_device("cuda")


@pytest.fixture
def checkpoint_copy(tmp_path):
    return shutil.copytree(PARITY, tmp_path / "ckpt")


def test_missing_weights_file(checkpoint_copy):
    (checkpoint_copy / "model.safetensors").unlink()
    with pytest.raises(UserError, match="needs model.safetensors"):
        Dia2Engine.load_folder(checkpoint_copy, device="cpu")


def test_truncated_weights_file(checkpoint_copy):
    path = checkpoint_copy / "model.safetensors"
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(UserError, match="truncated|download the checkpoint again"):
        Dia2Engine.load_folder(checkpoint_copy, device="cpu")


def test_mismatched_shape_names_tensor_and_both_shapes(checkpoint_copy):
    path = checkpoint_copy / "model.safetensors"
    tensors = load_file(str(path))
    tensors["transformer.cb0_head.weight"] = torch.zeros(130, 32)
    save_file(tensors, str(path))
    with pytest.raises(UserError, match=r"'transformer.cb0_head.weight' has shape \[130, 32\] but config.json implies \[130, 64\]"):
        Dia2Engine.load_folder(checkpoint_copy, device="cpu")


def test_missing_tensor_is_named(checkpoint_copy):
    path = checkpoint_copy / "model.safetensors"
    tensors = load_file(str(path))
    del tensors["depformer.logits.30.weight"]
    save_file(tensors, str(path))
    with pytest.raises(UserError, match="'depformer.logits.30.weight' is missing"):
        Dia2Engine.load_folder(checkpoint_copy, device="cpu")


def test_unknown_tensor_is_named(checkpoint_copy):
    path = checkpoint_copy / "model.safetensors"
    tensors = load_file(str(path))
    tensors["transformer.extra.weight"] = torch.zeros(2)
    save_file(tensors, str(path))
    with pytest.raises(UserError, match="'transformer.extra.weight' matches no parameter"):
        Dia2Engine.load_folder(checkpoint_copy, device="cpu")


def test_config_without_runtime_block(checkpoint_copy):
    path = checkpoint_copy / "config.json"
    raw = json.loads(path.read_text())
    del raw["runtime"]
    path.write_text(json.dumps(raw))
    with pytest.raises(UserError, match="no 'runtime' block"):
        Dia2Engine.load_folder(checkpoint_copy, device="cpu")


def test_config_with_wrong_delay_count(checkpoint_copy):
    path = checkpoint_copy / "config.json"
    raw = json.loads(path.read_text())
    raw["data"]["delay_pattern"] = [1, 2]
    path.write_text(json.dumps(raw))
    with pytest.raises(UserError, match="delay_pattern' has 2 entries but there are 32 codebooks"):
        Dia2Engine.load_folder(checkpoint_copy, device="cpu")


def test_not_a_folder(tmp_path):
    with pytest.raises(UserError, match="not a folder"):
        Dia2Engine.load_folder(tmp_path / "nowhere", device="cpu")
