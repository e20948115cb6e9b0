"""A tiny random-weight Dia2 checkpoint in the official layout, built locally for `--demo`.

It has the official structure (32 codebooks of 2048 codes + BOS + PAD, delays [1, 3, ...], three
depformer weight groups, a low-rank text embedding, a second text stream two words ahead) at a
tiny size, so the real loading and inference code runs in a second on any CPU. It speaks noise.
"""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
from pathlib import Path

import torch
from safetensors.torch import save_file

from app.paths import app_cache_dir

log = logging.getLogger(__name__)

DEMO_VERSION = "dia2-demo-v2"
SPECIAL_TOKENS = ["<unk>", "<s>", "<nw>", "<pad>", "<r4>", "<r5>", "<r6>", "<zero>", "[S1]", "[S2]"]
# English the demo tokenizer learns its pieces from, so that real recognised words (a person's
# turn in a prefix) and a real reply model's words take one to three tokens each, as with the
# published tokenizer, and fit in the frames their speech lasts.
_CORPUS = [
    "Hello there, how are you doing today? I am fine, thanks for asking.",
    "The quick brown fox jumps over the lazy dog. What a lovely day it is!",
    "Oh seriously? That's wild. Tell me more about it, I want to know everything.",
    "Yes, no, maybe. Well, I think so. Let me think about that for a second.",
    "We could talk about music, books, films, the weather or anything you like.",
    "Good morning! Did you sleep well? I woke up early and made some coffee.",
    "Sounds exciting. Show me a sample right now, let's give it a listen.",
    "Today we're unveiling the new open model, and we think you will love it.",
    "Can you tell me the way to the nearest train station, please?",
    "I would like a cup of tea and two slices of toast with butter.",
    "She said she was going to call back later, but she never did.",
    "They were walking home through the park when it started to rain.",
    "Have you ever been to the mountains in winter? The snow is beautiful.",
    "I'm not sure what you mean. Could you explain it again, a little slower?",
    "That's a great question. Let me see what I can find out for you.",
    "My favourite food is pasta, but I also really like soup and fresh bread.",
    "We should meet again next week and finish the project together.",
    "Do you remember the name of that song we heard on the radio yesterday?",
    "Thank you so much for your help, I really appreciate it.",
    "It was the best holiday we ever had, by the sea with our friends.",
    "Please turn off the lights when you leave the room.",
    "He has been working on the new version of the app all month.",
    "What time does the shop open on Sunday? I need to buy a few things.",
    "The children laughed and played in the garden until the sun went down.",
    "I'm ready when you are. Just say the word and we'll get started.",
    "Listen, I have an idea. Why don't we try something completely different?",
    "Everyone was happy to hear the good news about the little dog.",
    "There is nothing better than a long walk after a big dinner.",
    "Could you speak a bit louder? The music is too loud in here.",
    "I think the answer is somewhere between three and four hundred.",
    "First we read the question, then we write down our answer, and then we check it.",
    "Would you like to hear a story about a robot who learned to sing?",
    "Once upon a time, in a small village near the forest, there lived an old painter.",
    "Sorry, I didn't catch that. Can you say it one more time?",
    "Sure, here is a simple example. You can try it yourself later tonight.",
    "It's getting late, so I should probably go. See you tomorrow!",
    "People often ask me why I love languages. I just enjoy the sound of words.",
    "The weather will be sunny in the morning and cloudy in the afternoon.",
    "Fans of the show have been waiting for this moment for years.",
    "Welcome back! It's nice to hear your voice again, my friend.",
]


def demo_config(codebooks: int = 32) -> dict:
    """The demo checkpoint's config.json (official key layout)."""
    groups = [0] * 8 + [1] * 8 + [2] * (codebooks - 1 - 16) if codebooks > 17 else list(range(codebooks - 1))
    return {
        "data": {
            "channels": codebooks + 2,
            "text_vocab_size": 2048,
            "audio_vocab_size": 2050,
            "action_vocab_size": 2,
            "text_pad_token_id": 3,
            "text_new_word_token_id": 2,
            "text_zero_token_id": 7,
            "audio_pad_token_id": 2049,
            "audio_bos_token_id": 2048,
            "action_pad_token_id": 0,
            "action_new_word_token_id": 1,
            "delay_pattern": [1] + [3] * (codebooks - 1),
            "first_word_min_start": 0,
            "max_pad": 6,
            "second_stream_ahead": 2,
        },
        "model": {
            "decoder": {"n_layer": 2, "n_embd": 64, "n_hidden": 128, "gqa_query_heads": 4,
                        "kv_heads": 2, "gqa_head_dim": 16, "low_rank_dim": 32},
            "depformer": {"n_layer": 1, "n_embd": 32, "n_hidden": 64, "gqa_query_heads": 2,
                          "kv_heads": 2, "gqa_head_dim": 16, "apply_rope": True,
                          "text_embedding": False, "mlp_activations": ["silu", "linear"]},
            "linear": {"mlp_activations": ["silu", "linear"]},
            "dropout": 0.0,
            "rope_min_timescale": 1,
            "rope_max_timescale": 10000,
            "normalization_layer_epsilon": 1e-5,
        },
        "runtime": {"weights_schedule": groups, "max_context_steps": 1500},
        "assets": {"tokenizer": None, "mimi": "demo"},
    }


def _train_tokenizer(vocab_size: int):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    # word by word, as the runtime encodes text (each word on its own, without its space)
    words = [w for line in _CORPUS for w in line.split()]
    tok.train_from_iterator(words * 4, trainer=trainer)
    return tok


def write_demo_checkpoint(folder: Path, *, seed: int = 0, raw: dict | None = None) -> Path:
    """Write config.json, model.safetensors and tokenizer files into `folder`.

    `raw` is the config to build (default: `demo_config()`); tests pass other shapes.
    """
    from app.tts.config import parse_config
    from app.tts.model import Dia2Model

    raw = raw or demo_config()
    cfg = parse_config(raw)
    torch.manual_seed(seed)
    model = Dia2Model(cfg)
    with torch.no_grad():
        for name, tensor in model.checkpoint_tensors().items():
            if name.endswith("norm.weight"):
                tensor.copy_(1.0 + 0.1 * torch.randn_like(tensor))
            else:
                tensor.copy_(torch.randn_like(tensor) * (0.5 if "embed" in name else 0.2))
    tensors = {n: t.detach().clone().contiguous() for n, t in model.checkpoint_tensors().items()}
    folder.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(folder / "model.safetensors"))
    (folder / "config.json").write_text(json.dumps(raw, indent=1))
    tok = _train_tokenizer(raw["data"]["text_vocab_size"])
    tok.save(str(folder / "tokenizer.json"))
    (folder / "tokenizer_config.json").write_text(
        json.dumps({"tokenizer_class": "GPT2Tokenizer", "bos_token": "<s>", "unk_token": "<unk>",
                    "pad_token": "<pad>"}, indent=1)
    )
    return folder


def ensure_demo_dia2(root: Path | None = None) -> Path:
    """The demo checkpoint folder, built on first use (atomically: temp folder, then rename)."""
    root = root or app_cache_dir()
    final = root / DEMO_VERSION
    if (final / "model.safetensors").is_file():
        return final
    root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".building-", dir=root))
    try:
        write_demo_checkpoint(tmp)
        try:
            tmp.rename(final)
        except OSError:  # another process finished first
            if not (final / "model.safetensors").is_file():
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    log.info("built the demo Dia2 checkpoint in %s", final)
    return final
