"""A tiny random-weight Whisper in CTranslate2 format, built locally for demos and tests.

Nothing is downloaded: a small byte-level BPE tokenizer is trained on a fixed English text, and a
CTranslate2 `WhisperSpec` with a tiny shape is filled with seeded random weights and saved in the
folder layout faster-whisper loads (`model.bin`, `config.json`, `vocabulary.json`,
`tokenizer.json`). Filling the spec directly (rather than building a `transformers` model and
converting it) keeps the build to about a second and needs no development-only packages.
The words it "recognises" are nonsense, but loading, decoding and word timing run for real.

The result is cached in a folder whose name carries a version, so a second call returns at once.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import platformdirs

log = logging.getLogger(__name__)

#: Bump when the recipe changes so stale caches are rebuilt.
DEMO_RECIPE_VERSION = 1

# Special tokens in the order English-only Whisper vocabularies use after the text tokens.
_SPECIAL_TOKENS = (
    "<|endoftext|>",
    "<|startoftranscript|>",
    "<|en|>",
    "<|translate|>",
    "<|transcribe|>",
    "<|startoflm|>",
    "<|startofprev|>",
    "<|nospeech|>",
    "<|notimestamps|>",
)
_TIMESTAMP_TOKENS = 1501  # <|0.00|> ... <|30.00|> in steps of 20 ms

_CORPUS = (
    "hello there how are you doing today i am fine thank you and you "
    "the quick brown fox jumps over the lazy dog while the cat sleeps in the sun "
    "we talk and listen and speak back a voice that answers in time with words "
    "one two three four five six seven eight nine ten yes no maybe later please "
)


@dataclass(frozen=True)
class DemoWhisperConfig:
    """Shape of the tiny demo Whisper; small enough to build and run in about a second."""

    d_model: int = 64  # width of encoder and decoder
    layers: int = 2  # encoder layers and decoder layers (each)
    heads: int = 2  # attention heads per layer
    ffn_dim: int = 128  # feed-forward width
    bpe_vocab: int = 400  # size of the byte-level BPE text vocabulary before special tokens
    max_target_positions: int = 448  # decoder positions, as in real Whisper
    n_mels: int = 80  # mel bins of the input features (80 as in all Whisper but large-v3)
    seed: int = 0  # seed for the random weights


def default_demo_dir() -> Path:
    """The per-user cache folder where the demo model lives."""
    return Path(platformdirs.user_cache_dir("dia2-voicechat")) / "demo"


def _train_tokenizer(vocab_size: int):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    # Printable ASCII only (byte-level spelling: space is "Ġ"), so whatever the random model
    # emits decodes to readable letters rather than stray UTF-8 bytes.
    alphabet = ["Ġ"] + [chr(b) for b in range(33, 127)]
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        initial_alphabet=alphabet,
        limit_alphabet=len(alphabet),
        special_tokens=["<unk>"],
        show_progress=False,
    )
    tok.train_from_iterator([_CORPUS] * 4, trainer=trainer)
    tok.add_special_tokens(list(_SPECIAL_TOKENS))
    return tok


def _sinusoids(length: int, channels: int) -> np.ndarray:
    """Whisper's fixed sinusoidal encoder positions, [length, channels]."""
    half = channels // 2
    inv = np.exp(-np.log(10000.0) / (half - 1) * np.arange(half))
    t = np.arange(length)[:, None] * inv[None, :]
    return np.concatenate([np.sin(t), np.cos(t)], axis=1).astype(np.float32)


def _fill_spec(spec, cfg: DemoWhisperConfig, vocab: int, rng: np.random.Generator) -> None:
    """Give every weight of a CTranslate2 `WhisperSpec` a seeded random value of its shape."""
    d, f = cfg.d_model, cfg.ffn_dim

    def w(*shape: int) -> np.ndarray:
        return (rng.standard_normal(shape) * 0.05).astype(np.float32)

    def linear(lin, out_dim: int, in_dim: int) -> None:
        lin.weight = w(out_dim, in_dim)
        lin.bias = np.zeros(out_dim, np.float32)

    def norm(ln) -> None:
        ln.gamma = np.ones(d, np.float32)
        ln.beta = np.zeros(d, np.float32)

    enc, dec = spec.encoder, spec.decoder
    enc.conv1.weight, enc.conv1.bias = w(d, cfg.n_mels, 3), np.zeros(d, np.float32)
    enc.conv2.weight, enc.conv2.bias = w(d, d, 3), np.zeros(d, np.float32)
    enc.position_encodings.encodings = _sinusoids(1500, d)
    norm(enc.layer_norm)
    for layer in enc.layer:
        norm(layer.self_attention.layer_norm)
        linear(layer.self_attention.linear[0], 3 * d, d)  # fused q, k, v
        linear(layer.self_attention.linear[1], d, d)
        norm(layer.ffn.layer_norm)
        linear(layer.ffn.linear_0, f, d)
        linear(layer.ffn.linear_1, d, f)
    dec.embeddings.weight = w(vocab, d)
    dec.position_encodings.encodings = w(cfg.max_target_positions, d)
    norm(dec.layer_norm)
    dec.projection.weight = dec.embeddings.weight  # tied, as in Whisper
    for layer in dec.layer:
        norm(layer.self_attention.layer_norm)
        linear(layer.self_attention.linear[0], 3 * d, d)
        linear(layer.self_attention.linear[1], d, d)
        norm(layer.attention.layer_norm)
        linear(layer.attention.linear[0], d, d)  # queries from the decoder
        linear(layer.attention.linear[1], 2 * d, d)  # fused keys, values from the encoder
        linear(layer.attention.linear[2], d, d)
        norm(layer.ffn.layer_norm)
        linear(layer.ffn.linear_0, f, d)
        linear(layer.ffn.linear_1, d, f)


def _build(cfg: DemoWhisperConfig, folder: Path) -> None:
    from ctranslate2.specs import whisper_spec

    tok = _train_tokenizer(cfg.bpe_vocab)
    n_text = tok.get_vocab_size()
    eot = tok.token_to_id("<|endoftext|>")
    assert tok.token_to_id("<|notimestamps|>") == n_text - 1, "special tokens close the vocab"
    vocab = [tok.id_to_token(i) for i in range(n_text)]
    vocab += ["<|%.2f|>" % (i * 0.02) for i in range(_TIMESTAMP_TOKENS)]

    spec = whisper_spec.WhisperSpec(cfg.layers, cfg.heads, cfg.layers, cfg.heads)
    _fill_spec(spec, cfg, len(vocab), np.random.default_rng(cfg.seed))
    spec.register_vocabulary(vocab)
    spec.config.suppress_ids = []
    spec.config.suppress_ids_begin = [eot]
    spec.config.lang_ids = []
    spec.config.alignment_heads = [
        [layer, head] for layer in range(cfg.layers // 2, cfg.layers) for head in range(cfg.heads)
    ]
    spec.validate()
    spec.optimize(quantization=None)
    folder.mkdir(parents=True)
    spec.save(str(folder))
    tok.save(str(folder / "tokenizer.json"))


def build_demo_whisper(
    cache_dir: Path | None = None, config: DemoWhisperConfig = DemoWhisperConfig()
) -> Path:
    """Return the folder of the demo CTranslate2 Whisper, building it on first use.

    The build happens in a temporary folder next to the target and is renamed into place, so an
    interrupted build never leaves a half-written model behind.
    """
    import hashlib

    root = Path(cache_dir) if cache_dir is not None else default_demo_dir()
    key = json.dumps({"v": DEMO_RECIPE_VERSION, **asdict(config)}, sort_keys=True)
    digest = hashlib.sha1(key.encode()).hexdigest()[:10]
    target = root / f"whisper-ct2-{digest}"
    if (target / "model.bin").is_file() and (target / "tokenizer.json").is_file():
        return target
    root.mkdir(parents=True, exist_ok=True)
    log.info("building the demo Whisper model in %s", target)
    with tempfile.TemporaryDirectory(dir=root, prefix=".build-") as tmp:
        ct2_dir = Path(tmp) / "ct2"
        _build(config, ct2_dir)
        try:
            os.replace(ct2_dir, target)
        except OSError:
            if not (target / "model.bin").is_file():  # lost a race to nothing: a real failure
                raise
    return target
