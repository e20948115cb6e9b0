"""The published Dia2 checkpoints' shapes (`nari-labs/Dia2-1B`, `nari-labs/Dia2-2B`), defined once.

`published_config(size)` gives the `config.json` of each published checkpoint as far as it is
known (see ../shared/docs/dia2-reference.md, section 2), for the benchmarks, memory estimates and
tests that need full-size models without the real weights. Sizes and token layout are the
published ones; where a value is not known, the choice made here and why is said beside it.

What is not known: the exact boundaries of the depformer's weight groups (`weights_schedule`).
Only the number of groups follows from the published files (each group adds 7 tensors to the 1B
file: one `depformer_in` and, in each of 3 layers, one `in_proj` and one `out_proj`), and the 2B
schedule is known to have 31 entries, the first 0 and the last 4. The boundaries change neither the
tensor and parameter counts nor the speed, only which stage uses which weights.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

SIZES = ("1b", "2b")  # the published sizes, as `bench --sizes` names them

CODEBOOKS = 32  # Mimi codebooks Dia2 uses (K)

# 2B: 5 groups, 31 entries, first 0, last 4 (published). Boundaries assumed: each group twice as
# long as the one before (1, 2, 4, 8, 16 stages), the schedule of the real-shape parity fixture
# (../shared/parity/dia2-real-shape, made with the reference runtime in the published regime).
SCHEDULE_2B = (0,) + (1,) * 2 + (2,) * 4 + (3,) * 8 + (4,) * 16

# 1B: 3 groups (the published file's 440 tensors imply exactly 3). Boundaries assumed: 8, 8 and
# 15 stages, the 3-group schedule of the tiny parity fixture (../shared/parity/dia2-tiny, which
# its README says is laid out "like the official 1B/2B").
SCHEDULE_1B = (0,) * 8 + (1,) * 8 + (2,) * 15


@dataclass(frozen=True)
class PublishedCheckpoint:
    """What is published about one Dia2 checkpoint's weights file."""

    repo_id: str  # the Hugging Face repository
    weights_bytes: int  # size of its float32 model.safetensors (header included)
    exact: bool  # weights_bytes is the exact byte count (False: rounded as published, 7.68 GB)


PUBLISHED = {
    "1b": PublishedCheckpoint("nari-labs/Dia2-1B", 4_305_028_488, exact=True),
    "2b": PublishedCheckpoint("nari-labs/Dia2-2B", 7_680_000_000, exact=False),
}


def _data() -> dict:
    """The `data` block, the same for both sizes. Token ids as in the real-shape parity fixture."""
    return {
        "channels": CODEBOOKS + 2,
        "text_vocab_size": 49280,
        "audio_vocab_size": 2050,  # 2048 codes, BOS 2048, PAD 2049
        "action_vocab_size": 2,
        "text_pad_token_id": 3,
        "text_new_word_token_id": 2,
        "text_zero_token_id": 7,
        "audio_pad_token_id": 2049,
        "audio_bos_token_id": 2048,
        "action_pad_token_id": 0,
        "action_new_word_token_id": 1,
        "delay_pattern": [16] + [18] * (CODEBOOKS - 1),
        "first_word_min_start": 3,
        "max_pad": 8,
        "second_stream_ahead": 2,
    }


def _stack(n_layer: int, n_embd: int, n_hidden: int, heads: int, kv_heads: int) -> dict:
    return {"n_layer": n_layer, "n_embd": n_embd, "n_hidden": n_hidden,
            "gqa_query_heads": heads, "kv_heads": kv_heads, "gqa_head_dim": 128}


_MODELS: dict[str, dict[str, Any]] = {
    "1b": {
        "decoder": {**_stack(30, 1024, 6144, 16, 8), "low_rank_dim": None},
        "depformer": _stack(3, 1024, 3072, 8, 8),
        "schedule": SCHEDULE_1B,
    },
    "2b": {
        "decoder": {**_stack(28, 2048, 6144, 16, 8), "low_rank_dim": None},
        "depformer": _stack(4, 1024, 3072, 8, 8),
        "schedule": SCHEDULE_2B,
    },
}


def published_config(size: str) -> dict:
    """The `config.json` (as a dict) of the published checkpoint of `size` ("1b" or "2b")."""
    if size not in _MODELS:
        raise ValueError(f"unknown Dia2 size {size!r}; the published sizes are {', '.join(SIZES)}")
    shape = _MODELS[size]
    depformer = {**shape["depformer"], "apply_rope": True, "text_embedding": False,
                 "mlp_activations": ["silu", "linear"]}
    return copy.deepcopy({
        "data": _data(),
        "model": {
            "decoder": shape["decoder"],
            "depformer": depformer,
            "linear": {"mlp_activations": ["silu", "linear"]},
            "dropout": 0.0,
            "rope_min_timescale": 1,
            "rope_max_timescale": 10000,
            "normalization_layer_epsilon": 1e-6,
        },
        # The published configs have no `assets` block (the codec is the default Mimi).
        "runtime": {"weights_schedule": list(shape["schedule"]), "max_context_steps": 1500},
    })
