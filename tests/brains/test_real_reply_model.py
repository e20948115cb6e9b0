"""The built-in brain on the real SmolLM2-135M-Instruct, read from the GGUF file its package
ships (no download): English replies streamed in pieces, within the persona's length limits,
cancelled promptly; GGUF files and folders as model choices, with clear errors."""

from __future__ import annotations

import json
import os
import re
import threading
from pathlib import Path

import pytest

from app.brains.base import BrainError, Message
from app.brains.local_llm import TransformersBrain, TransformersConfig
from app.brains.persona import MAX_SENTENCES, persona_prompt
from app.brains.speech_text import clean_for_speech

QUESTION = [Message("system", persona_prompt(name="Ava")),
            Message("user", "Sounds exciting. Show me a sample right now. Let's give it a listen.")]
COMMON = {"i", "you", "the", "a", "to", "it", "is", "and", "of", "that", "we", "what", "this",
          "my", "me", "your", "can", "let's", "i'm", "so", "be", "for", "with", "sure", "here"}


@pytest.fixture(scope="module")
def gguf(demo_root) -> Path:
    from app.assets.packaged import packaged_reply_model

    return packaged_reply_model()


@pytest.fixture(scope="module")
def smollm2(gguf) -> TransformersBrain:
    brain = TransformersBrain(TransformersConfig(model=str(gguf), device="cpu", temperature=0,
                                                 repetition_penalty=1.2))
    brain.load()
    return brain


def _sentences(text: str) -> int:
    return len(re.findall(r"[.!?…]+(?=\s|$)", text.strip()))


def test_an_english_reply_streams_within_the_persona_limits(smollm2):
    pieces = list(smollm2.reply(QUESTION))
    text = "".join(pieces)
    print(f"reply ({smollm2.last_token_count} tokens): {text!r}")
    assert len(pieces) >= 3, "the reply should arrive in pieces"
    assert 0 < smollm2.last_token_count <= smollm2.config.max_new_tokens
    spoken = clean_for_speech(text)
    words = re.findall(r"[a-z']+", spoken.lower())
    assert len(words) >= 3
    letters = [c for c in spoken if c.isalpha()]
    assert sum(c.isascii() for c in letters) / len(letters) >= 0.95, "not English letters"
    assert len(COMMON & set(words)) >= 2, f"no common English words in {spoken!r}"
    assert _sentences(text) <= MAX_SENTENCES


def test_the_sentence_cap_stops_a_rambling_reply(gguf, smollm2):
    one = TransformersBrain(TransformersConfig(model=str(gguf), device="cpu", temperature=0,
                                               repetition_penalty=1.2, max_sentences=1),
                            model=smollm2._model, tokenizer=smollm2._tokenizer)
    text = "".join(one.reply(QUESTION))
    print(f"one sentence: {text!r}")
    assert _sentences(text) == 1 and text.rstrip()[-1] in ".!?…"
    assert one.last_token_count < smollm2.last_token_count or smollm2.last_token_count == 0


def test_cancel_stops_the_reply_promptly(smollm2):
    cancel = threading.Event()
    pieces = []
    for piece in smollm2.reply(QUESTION, cancel=cancel):
        pieces.append(piece)
        if len(pieces) == 2:
            cancel.set()
    assert len(pieces) == 2
    # the stopping criterion sees the cancel at the next token: at most a token or two more
    first_two = len(smollm2._tokenizer("".join(pieces))["input_ids"])
    assert smollm2.last_token_count <= first_two + 3, smollm2.last_token_count


def test_a_gguf_file_or_its_folder_loads_and_is_prepared_once(gguf, smollm2, tmp_path):
    from app.brains.gguf import gguf_file, prepared_folder

    folder = prepared_folder(gguf)
    assert (folder / "model.safetensors").is_file() and (folder / "tokenizer.json").is_file()
    assert not (folder / "tokenizer.model").exists(), "the GGUF must not be copied"
    config = json.loads((folder / "tokenizer_config.json").read_text())
    assert config["tokenizer_class"] == "PreTrainedTokenizerFast"  # found without a model search
    stamp = (folder / "model.safetensors").stat().st_mtime_ns
    # a folder holding just the file (a link: the file is used where it lies)
    only = tmp_path / "models"
    only.mkdir()
    os.symlink(gguf, only / gguf.name)
    assert gguf_file(str(only)) == only / gguf.name
    assert prepared_folder(only / gguf.name) == folder
    assert (folder / "model.safetensors").stat().st_mtime_ns == stamp
    brain = TransformersBrain(TransformersConfig(model=str(only), device="cpu", temperature=0,
                                                 repetition_penalty=1.2, max_new_tokens=8))
    assert "".join(brain.reply(QUESTION)).strip()
    assert brain.prompt_text(QUESTION).startswith("<|im_start|>system\nYour name is Ava.")


def test_gguf_choices_give_clear_errors(tmp_path, gguf):
    missing = TransformersBrain(TransformersConfig(model=str(tmp_path / "nope.gguf")))
    with pytest.raises(BrainError, match="does not exist"):
        missing.load()
    two = tmp_path / "two"
    two.mkdir()
    for name in ("a.gguf", "b.gguf"):
        os.symlink(gguf, two / name)
    with pytest.raises(BrainError, match="several GGUF files"):
        TransformersBrain(TransformersConfig(model=str(two))).load()
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"GGUF" + b"\0" * 64)
    with pytest.raises(BrainError, match="cannot read the GGUF file"):
        TransformersBrain(TransformersConfig(model=str(broken), device="cpu")).load()
    from app.brains.gguf import default_root

    assert not any(p.name.startswith(".prepare-") for p in default_root().iterdir())
