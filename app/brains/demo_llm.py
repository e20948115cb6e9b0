"""A tiny random-weight chat model, built locally, for tests of the brain mechanics.

`build_demo_llm(folder)` trains a small byte-level BPE tokenizer on a few sentences, gives it a
ChatML-style chat template, creates a two-layer Qwen2 causal LM with random weights and saves
both the way the hub's instruct models are saved, so `TransformersBrain` loads and runs it with
exactly the code it uses for real models. It talks nonsense, quickly (built in about a second).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from app.brains.local_llm import TransformersConfig

log = logging.getLogger(__name__)

_SENTENCES = (
    "Hello there, how are you today?",
    "I am fine, thank you. It is a lovely day for a walk in the park.",
    "Tell me something about the sea and the stars.",
    "The little cat sat by the warm fire and listened to the rain.",
    "We could talk about music, books, films or the weather.",
    "That sounds wonderful! What would you like to do next?",
    "Maybe we should make some tea and think about it for a while.",
    "Yes, of course. I think so too, but I am not quite sure.",
)
DEMO_MAX_NEW_TOKENS = 24  # the demo model never stops by itself: keep its replies short
SPECIAL_TOKENS = ("<|endoftext|>", "<|im_start|>", "<|im_end|>")
CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)


def build_demo_llm(folder: Path | str, *, seed: int = 0, vocab_size: int = 512) -> Path:
    """Build and save the demo tokenizer and model in `folder`; return the folder.

    The saved generation config suppresses special and non-printable tokens, so a reply always
    runs to `max_new_tokens` and decodes to printable ASCII text.
    """
    import torch
    from transformers import GenerationConfig, Qwen2ForCausalLM

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tokenizer = _demo_tokenizer(vocab_size)
    tokenizer.save_pretrained(folder)
    eos_id = tokenizer.convert_tokens_to_ids("<|im_end|>")
    pad_id = tokenizer.convert_tokens_to_ids("<|endoftext|>")
    config = _demo_model_config(len(tokenizer), eos_id, pad_id)
    torch.manual_seed(seed)
    model = Qwen2ForCausalLM(config).eval()
    model.generation_config = GenerationConfig(
        eos_token_id=eos_id,
        pad_token_id=pad_id,
        suppress_tokens=_unprintable_ids(tokenizer),
    )
    model.save_pretrained(folder, safe_serialization=True)
    log.info("built the demo LLM in %s (%d tokens)", folder, config.vocab_size)
    return folder


def _demo_tokenizer(vocab_size: int):
    """A byte-level BPE tokenizer of `vocab_size` tokens trained on `_SENTENCES`, with the
    ChatML-style chat template."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    raw = Tokenizer(models.BPE())
    raw.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    raw.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=list(SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    raw.train_from_iterator(list(_SENTENCES) * 4, trainer=trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=raw,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        chat_template=CHAT_TEMPLATE,
        model_input_names=["input_ids", "attention_mask"],
    )


def _demo_model_config(vocab_size: int, eos_id: int, pad_id: int):
    """A two-layer Qwen2 with large random weights (output that varies with the prompt)."""
    from transformers import Qwen2Config

    return Qwen2Config(
        vocab_size=vocab_size,
        hidden_size=64,
        initializer_range=0.3,  # large random weights: output that varies with the prompt
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=1024,
        tie_word_embeddings=True,
        bos_token_id=pad_id,
        eos_token_id=eos_id,
        pad_token_id=pad_id,
    )


def demo_brain_config(folder: Path | str) -> TransformersConfig:
    """Settings for running the demo LLM built in `folder`: short sampled replies on the CPU."""
    from app.brains.local_llm import TransformersConfig

    return TransformersConfig(
        model=str(folder), device="cpu", max_new_tokens=DEMO_MAX_NEW_TOKENS, temperature=0.9,
        max_sentences=None,  # random text: a length in tokens, whatever its punctuation
    )


def _unprintable_ids(tokenizer) -> list[int]:
    """Ids of special tokens and of tokens that do not decode to printable ASCII."""
    bad = []
    for token_id in range(len(tokenizer)):
        text = tokenizer.decode([token_id])
        if (
            token_id in tokenizer.all_special_ids
            or not text
            or not all(32 <= ord(c) < 127 for c in text)
        ):
            bad.append(token_id)
    return bad
