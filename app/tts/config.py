"""The checkpoint's own configuration (`config.json` of a Dia2 repository), as frozen dataclasses.

Only what the checkpoint says lives here; the user's generation options are in `options.py`.
Every field the runtime needs is read and checked, so a malformed config fails at load time with a
message naming the field, not deep inside a forward pass.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.errors import UserError

_ACTIVATIONS = ("silu", "swish", "gelu", "relu", "linear")


@dataclass(frozen=True)
class DataConfig:
    """Token layout shared by the networks and the runtime."""

    channels: int  # streams per frame: main text, second text, then K audio codebooks (= 2 + K)
    text_vocab_size: int  # rows of the text embedding
    audio_vocab_size: int  # codebook entries plus BOS and PAD (2050 officially)
    action_vocab_size: int  # size of the action head (2: pad, new word)
    text_pad_token_id: int  # text PAD token
    text_new_word_token_id: int  # text NEW_WORD token
    text_zero_token_id: int  # text token of the unconditional (guidance) row
    audio_pad_token_id: int  # audio PAD token (after a codebook's end)
    audio_bos_token_id: int  # audio BOS token (before a codebook's start)
    delay_pattern: tuple[int, ...]  # per codebook delay in frames; first >= 1
    second_stream_ahead: int  # words the second text stream runs ahead (0 = no second stream)

    @property
    def num_codebooks(self) -> int:
        """K, the number of audio codebooks."""
        return self.channels - 2

    @property
    def max_delay(self) -> int:
        return max(self.delay_pattern) if self.delay_pattern else 0


@dataclass(frozen=True)
class StackConfig:
    """Sizes of one transformer stack (the temporal decoder or the depformer)."""

    n_layer: int  # number of layers
    n_embd: int  # model width
    n_hidden: int  # MLP hidden width (wi has 2 * n_hidden outputs)
    heads: int  # query heads
    kv_heads: int  # key/value heads (grouped-query attention)
    head_dim: int  # width of one head
    low_rank_dim: int | None  # low-rank text embedding width (decoder only; None = n_embd)
    apply_rope: bool  # rotary position embedding on q and k
    text_embedding: bool  # depformer stage 0 also embeds the frame's text tokens
    mlp_activations: tuple[str, str]  # activations of the gate and up branches


@dataclass(frozen=True)
class Dia2Config:
    """Everything `config.json` tells the runtime."""

    data: DataConfig  # token layout
    decoder: StackConfig  # the temporal decoder (one step per frame)
    depformer: StackConfig  # the depth transformer (one stage per codebook after the first)
    rope_min_timescale: float  # RoPE minimum timescale
    rope_max_timescale: float  # RoPE maximum timescale
    norm_eps: float  # RMSNorm epsilon
    weights_schedule: tuple[int, ...]  # weight group of each depformer stage (K - 1 entries)
    max_context_steps: int  # frames of context the decoder was trained for (1500 = 2 minutes)
    mimi: str | None  # the codec the checkpoint names (assets.mimi), informational

    @property
    def num_stages(self) -> int:
        """Depformer stages per frame (K - 1)."""
        return self.data.num_codebooks - 1

    @property
    def weight_groups(self) -> tuple[int, ...]:
        """The distinct weight groups the schedule uses, sorted."""
        return tuple(sorted(set(self.weights_schedule)))


def _need(block: dict[str, Any], key: str, where: str) -> Any:
    if key not in block:
        raise UserError(f"config.json: '{where}.{key}' is missing; is this a Dia2 checkpoint?")
    return block[key]


def _int(block: dict[str, Any], key: str, where: str, default: int | None = None) -> int:
    if default is not None and block.get(key) is None:
        return default
    value = _need(block, key, where)
    if isinstance(value, bool) or not isinstance(value, int):
        raise UserError(f"config.json: '{where}.{key}' must be an integer, got {value!r}")
    return value


def _stack(block: dict[str, Any], where: str, default_acts: tuple[str, str]) -> StackConfig:
    acts = tuple(block.get("mlp_activations", default_acts))
    if len(acts) != 2 or any(str(a).lower() not in _ACTIVATIONS for a in acts):
        raise UserError(
            f"config.json: '{where}.mlp_activations' must be two of {_ACTIVATIONS}, got {acts!r}"
        )
    low_rank = block.get("low_rank_dim")
    stack = StackConfig(
        n_layer=_int(block, "n_layer", where),
        n_embd=_int(block, "n_embd", where),
        n_hidden=_int(block, "n_hidden", where),
        heads=_int(block, "gqa_query_heads", where),
        kv_heads=_int(block, "kv_heads", where),
        head_dim=_int(block, "gqa_head_dim", where),
        low_rank_dim=int(low_rank) if low_rank is not None else None,
        apply_rope=bool(block.get("apply_rope", True)),
        text_embedding=bool(block.get("text_embedding", True)),
        mlp_activations=(str(acts[0]).lower(), str(acts[1]).lower()),
    )
    if stack.heads % max(stack.kv_heads, 1) != 0:
        raise UserError(f"config.json: '{where}' query heads must be a multiple of kv_heads")
    if stack.head_dim % 2 != 0:
        raise UserError(f"config.json: '{where}.gqa_head_dim' must be even for RoPE")
    return stack


def parse_config(raw: dict[str, Any]) -> Dia2Config:
    """Build a `Dia2Config` from the parsed JSON, checking every field the runtime uses."""
    data_raw = _need(raw, "data", "")
    model_raw = _need(raw, "model", "")
    if "runtime" not in raw:
        raise UserError("config.json has no 'runtime' block; it is not a Dia2 runtime config")
    runtime_raw = raw["runtime"] or {}
    channels = _int(data_raw, "channels", "data")
    k = channels - 2
    if k < 1:
        raise UserError("config.json: 'data.channels' must be at least 3 (2 text + 1 audio)")
    audio_vocab = _int(data_raw, "audio_vocab_size", "data")
    delays = tuple(int(d) for d in _need(data_raw, "delay_pattern", "data"))
    if len(delays) != k:
        raise UserError(
            f"config.json: 'data.delay_pattern' has {len(delays)} entries but there are {k} codebooks"
        )
    if delays[0] < 1 or min(delays) < 0:
        raise UserError("config.json: 'data.delay_pattern' must start at 1 or more, none negative")
    data = DataConfig(
        channels=channels,
        text_vocab_size=_int(data_raw, "text_vocab_size", "data"),
        audio_vocab_size=audio_vocab,
        action_vocab_size=_int(data_raw, "action_vocab_size", "data"),
        text_pad_token_id=_int(data_raw, "text_pad_token_id", "data"),
        text_new_word_token_id=_int(data_raw, "text_new_word_token_id", "data"),
        text_zero_token_id=_int(data_raw, "text_zero_token_id", "data", 7),
        audio_pad_token_id=_int(data_raw, "audio_pad_token_id", "data", audio_vocab - 1),
        audio_bos_token_id=_int(data_raw, "audio_bos_token_id", "data", audio_vocab - 2),
        delay_pattern=delays,
        second_stream_ahead=_int(data_raw, "second_stream_ahead", "data", 0),
    )
    default_acts = tuple(model_raw.get("linear", {}).get("mlp_activations", ("silu", "linear")))
    decoder = _stack(_need(model_raw, "decoder", "model"), "model.decoder", default_acts)
    depformer = _stack(_need(model_raw, "depformer", "model"), "model.depformer", ("silu", "linear"))
    if depformer.heads != depformer.kv_heads:
        raise UserError("config.json: the depformer needs kv_heads equal to gqa_query_heads")
    schedule = tuple(int(g) for g in runtime_raw.get("weights_schedule", range(k - 1)))
    if len(schedule) != k - 1:
        raise UserError(
            f"config.json: 'runtime.weights_schedule' has {len(schedule)} entries, needs {k - 1}"
        )
    max_ctx = int(runtime_raw.get("max_context_steps", 1500))
    if max_ctx <= 0:
        raise UserError("config.json: 'runtime.max_context_steps' must be positive")
    assets = raw.get("assets") or {}
    return Dia2Config(
        data=data,
        decoder=decoder,
        depformer=depformer,
        rope_min_timescale=float(model_raw.get("rope_min_timescale", 1)),
        rope_max_timescale=float(model_raw.get("rope_max_timescale", 10000)),
        norm_eps=float(model_raw.get("normalization_layer_epsilon", 1e-5)),
        weights_schedule=schedule,
        max_context_steps=max_ctx,
        mimi=assets.get("mimi"),
    )


def load_config(path: str | Path) -> Dia2Config:
    """Read and check `config.json`."""
    path = Path(path)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"{path} does not exist; a Dia2 checkpoint folder needs config.json") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise UserError(f"{path} is not valid JSON ({exc}); re-download the checkpoint") from None
    if not isinstance(raw, dict):
        raise UserError(f"{path} must hold a JSON object")
    return parse_config(raw)
