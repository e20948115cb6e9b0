"""The transformers brain on a tiny random-weight model and tokenizer built by the test."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from app.brains.base import BrainError, Message
from app.brains.demo_llm import DEMO_MAX_NEW_TOKENS, demo_brain_config
from app.brains.local_llm import TransformersBrain, TransformersConfig, pick_device_and_dtype
from app.brains.speech_text import speech_words

HISTORY = [Message("system", "You are Ada."), Message("user", "Hello there, how are you?")]


def greedy(folder: Path, max_new_tokens: int) -> TransformersBrain:
    return TransformersBrain(
        TransformersConfig(
            model=str(folder), device="cpu", temperature=0, max_new_tokens=max_new_tokens,
            max_sentences=None,  # these tests count tokens of random text
        )
    )


def test_streams_pieces_and_respects_max_new_tokens(demo_llm_dir: Path) -> None:
    brain = greedy(demo_llm_dir, 12)
    pieces = list(brain.reply(HISTORY))
    assert len(pieces) > 1, "the reply should arrive in several pieces"
    assert brain.last_token_count == 12
    text = "".join(pieces)
    assert text.strip()
    # re-encoding the decoded reply gives about the generated number of tokens (byte-level BPE)
    assert len(brain._tokenizer(text)["input_ids"]) <= 12 + 2
    longer = greedy(demo_llm_dir, 30)
    assert len("".join(longer.reply(HISTORY))) > len(text)
    assert longer.last_token_count == 30


def test_greedy_is_deterministic_and_depends_on_the_prompt(demo_llm_dir: Path) -> None:
    brain = greedy(demo_llm_dir, 16)
    first = "".join(brain.reply(HISTORY))
    assert "".join(brain.reply(HISTORY)) == first
    other = [Message("user", "Tell me about the sea and the stars, please!")] * 3
    assert "".join(brain.reply(other)) != first


def test_prompt_uses_the_chat_template(demo_llm_dir: Path) -> None:
    brain = greedy(demo_llm_dir, 4)
    prompt = brain.prompt_text(HISTORY)
    assert prompt == (
        "<|im_start|>system\nYou are Ada.<|im_end|>\n"
        "<|im_start|>user\nHello there, how are you?<|im_end|>\n"
        "<|im_start|>assistant\n"
    )
    default = brain.prompt_text([Message("user", "Hi")])
    assert default.startswith("<|im_start|>system\n") and "short sentences" in default


def test_cancel_stops_generation(demo_llm_dir: Path) -> None:
    brain = greedy(demo_llm_dir, 400)
    cancel = threading.Event()
    pieces = []
    for piece in brain.reply(HISTORY, cancel=cancel):
        pieces.append(piece)
        cancel.set()
    assert len(pieces) == 1
    assert 0 < brain.last_token_count < 400


def test_cancel_before_start_generates_nothing(demo_llm_dir: Path) -> None:
    brain = greedy(demo_llm_dir, 50)
    cancel = threading.Event()
    cancel.set()
    assert list(brain.reply(HISTORY, cancel=cancel)) == []
    assert brain.last_token_count == 0


def test_closing_the_generator_stops_generation(demo_llm_dir: Path) -> None:
    brain = greedy(demo_llm_dir, 400)
    gen = brain.reply(HISTORY)
    next(gen)
    gen.close()
    assert 0 < brain.last_token_count < 400


def test_demo_config_gives_speakable_sampled_words(demo_llm_dir: Path) -> None:
    brain = TransformersBrain(demo_brain_config(demo_llm_dir))
    words = list(speech_words(brain.reply(HISTORY)))
    assert brain.last_token_count == DEMO_MAX_NEW_TOKENS
    assert words and all(any(c.isalnum() for c in w) for w in words)


def test_missing_folder_is_a_clear_error(tmp_path: Path) -> None:
    brain = TransformersBrain(TransformersConfig(model=str(tmp_path / "nope" / "model")))
    with pytest.raises(BrainError, match="does not exist"):
        list(brain.reply(HISTORY))


def test_repo_not_in_cache_is_a_clear_error() -> None:
    brain = TransformersBrain(TransformersConfig(model="nobody/no-such-model", device="cpu"))
    with pytest.raises(BrainError, match="not in the local Hugging Face cache"):
        brain.load()


def test_folder_without_chat_template(demo_llm_dir: Path, tmp_path: Path) -> None:
    import shutil

    plain = tmp_path / "plain"
    shutil.copytree(demo_llm_dir, plain)
    (plain / "chat_template.jinja").unlink()
    config = plain / "tokenizer_config.json"
    config.write_text(config.read_text().replace('"chat_template"', '"unused_template"'))
    brain = greedy(plain, 4)
    with pytest.raises(BrainError, match="no chat template"):
        list(brain.reply(HISTORY))


def test_auto_device_on_cpu_machine() -> None:
    import torch

    device, dtype = pick_device_and_dtype("auto", "auto")
    if torch.cuda.is_available():
        assert device == "cuda" and dtype in (torch.bfloat16, torch.float16)
    else:
        assert (device, dtype) == ("cpu", torch.float32)
    assert pick_device_and_dtype("cpu", "bfloat16") == ("cpu", torch.bfloat16)
