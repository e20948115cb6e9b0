"""Helpers for the TTS tests: parity cases, options from a case, checkpoints of other shapes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import torch

from app.models.demo_dia2 import demo_config, write_demo_checkpoint
from app.tts import GenerationOptions, PrefixTurn, Word


def load_cases(parity_dir: Path) -> list[dict]:
    return json.loads((parity_dir / "cases-public.json").read_text())["cases"]


def case_options(case: dict) -> GenerationOptions:
    s = case["sampling"]
    return GenerationOptions(
        text_temperature=s["text_temperature"],
        audio_temperature=s["audio_temperature"],
        text_top_k=s["top_k"],
        audio_top_k=s["top_k"],
        cfg_scale=s["cfg_scale"],
        cfg_filter_k=s["cfg_filter_k"],
        initial_padding=s["initial_padding"],
        include_prefix=s["include_prefix"],
    )


def case_prefix(case: dict) -> list[PrefixTurn]:
    turns = []
    for speaker in (1, 2):
        p = (case.get("prefix") or {}).get(f"speaker_{speaker}")
        if p:
            words = tuple(Word(t, s, e) for t, s, e in p["words"])
            turns.append(PrefixTurn(speaker, words, codes=torch.tensor(p["codes"])))
    return turns


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
