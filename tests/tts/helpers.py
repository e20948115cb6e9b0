"""Helpers for the TTS tests: parity cases, options from a case, checkpoints of other shapes."""

from __future__ import annotations

import shutil
from pathlib import Path

from app.assets.demo_dia2 import demo_config, write_demo_checkpoint

# The parity cases' reader lives with the precision measurements; the tests use it from here.
from app.bench.agreement import case_options, case_prefix, load_cases  # noqa: F401


def variant_checkpoint(folder: Path, **changes) -> Path:
    """A random checkpoint in the official layout with some config fields changed.

    changes: codebooks=int, text_embedding=bool, apply_rope=bool, one_group=bool,
    second_stream_ahead=int, low_rank=bool.
    """
    raw = demo_config(changes.get("codebooks", 32))
    dep = raw["model"]["depformer"]
    if "text_embedding" in changes:
        dep["text_embedding"] = changes["text_embedding"]
    if "apply_rope" in changes:
        dep["apply_rope"] = changes["apply_rope"]
    if changes.get("one_group"):
        raw["runtime"]["weights_schedule"] = [0] * (raw["data"]["channels"] - 3)
    if "second_stream_ahead" in changes:
        raw["data"]["second_stream_ahead"] = changes["second_stream_ahead"]
    if changes.get("low_rank") is False:
        raw["model"]["decoder"].pop("low_rank_dim")
    raw["runtime"]["max_context_steps"] = 300
    write_demo_checkpoint(folder, raw=raw)
    return folder


def copy_checkpoint(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst
