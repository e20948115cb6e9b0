"""Precision modes on the parity fixtures, on the CPU: run a fixture's cases in one mode, and
measure how often the bfloat16 modes agree with float32 (`main.py bench --agreement`).

A parity fixture is a checkpoint folder with case files (`cases-public.json`: what the reference
runtime generated in float32; `cases-reference-bf16-cpu.json`: what it generated in its bfloat16
mode forced onto the CPU; see tests/fixtures/README.md). Each case holds a script, greedy sampling
settings and optionally a prefix given as words and Mimi codes.

CPU bfloat16 kernels are not CUDA's: the agreement figures say how often bfloat16 rounding flips a
greedy choice of these tiny random networks on this CPU, not what a GPU does (`bench --gpu-check`
measures that on the published shapes).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import torch

from app.core import Word
from app.tts.engine import Dia2Engine
from app.tts.options import GenerationOptions
from app.tts.precision import FAST_BF16, FLOAT32, REFERENCE_BF16, Precision
from app.tts.prefix import PrefixTurn
from app.tts.stream import AudioFrame

log = logging.getLogger(__name__)

PUBLIC_CASES = "cases-public.json"  # the reference's float32 runs
REFERENCE_BF16_CASES = "cases-reference-bf16-cpu.json"  # the reference's bfloat16 runs (CPU)
PATHS = ("batched", "stepwise", "stream")  # generate with either prefill, and streaming
PRECISIONS = {p.name: p for p in (FLOAT32, REFERENCE_BF16, FAST_BF16)}


def load_cases(folder: Path, name: str = PUBLIC_CASES) -> list[dict]:
    return json.loads((Path(folder) / name).read_text())["cases"]


def case_options(case: dict) -> GenerationOptions:
    """The generation options of a case's `sampling` block."""
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
    """The prefix turns of a case (words with times and Mimi codes), speaker 1 first."""
    turns = []
    for speaker in (1, 2):
        p = (case.get("prefix") or {}).get(f"speaker_{speaker}")
        if p:
            words = tuple(Word(t, s, e) for t, s, e in p["words"])
            turns.append(PrefixTurn(speaker, words, codes=torch.tensor(p["codes"])))
    return turns


def run_case(engine: Dia2Engine, case: dict, path: str = "batched"
             ) -> tuple[torch.Tensor, list[tuple[str, float]]]:
    """Aligned codes [K, frames] and (word, seconds) of one case, through `generate` with the
    batched or stepwise prefill, or through a stream fed word by word (`path`)."""
    if path == "stream":
        stream = engine.stream(case_options(case), case_prefix(case))
        for word in case["script"].split(" "):
            stream.push_text(word + " ")
        stream.finish()
        frames, words = [], []
        for event in stream:
            if isinstance(event, AudioFrame):
                frames.append(event.codes)
            else:
                words.append((event.word, round(event.start, 6)))
        k = engine.config.data.num_codebooks
        codes = torch.stack(frames, dim=1) if frames else torch.zeros(k, 0, dtype=torch.long)
        return codes, words
    result = engine.generate(case["script"], case_options(case), case_prefix(case), prefill=path)
    return result.audio_tokens, [(w, round(t, 6)) for w, t in result.timestamps]


def run_fixture(folder: Path, precision: Precision, paths: tuple[str, ...] = PATHS
                ) -> dict[str, dict[str, Any]]:
    """Every public case of a fixture in one precision on the CPU: case name -> path ->
    {"audio_tokens": [[...]], "timestamps": [[word, seconds]]}."""
    engine = Dia2Engine.load_folder(folder, device="cpu", precision=precision)
    out: dict[str, dict[str, Any]] = {}
    for case in load_cases(folder):
        out[case["name"]] = {}
        for path in paths:
            codes, words = run_case(engine, case, path)
            out[case["name"]][path] = {"audio_tokens": codes.tolist(),
                                       "timestamps": [list(w) for w in words]}
    return out


def compare(base: torch.Tensor, other: torch.Tensor) -> dict[str, Any]:
    """How far two aligned code tensors [K, frames] agree: the fraction of equal codes over the
    frames both have, the first frame where any codebook differs and the first where codebook 0
    differs (the shorter one's length when one is a prefix of the other; None when identical)."""
    n = min(base.shape[1], other.shape[1])
    equal = base[:, :n] == other[:, :n]

    def first(differs: torch.Tensor) -> int | None:
        at = differs.nonzero()
        return int(at[0]) if len(at) else (None if base.shape == other.shape else n)

    return {
        "frames": other.shape[1],
        "codes_equal": round(equal.float().mean().item(), 4) if n else 0.0,
        "first_difference": first((~equal).any(dim=0)),
        "first_codebook0_difference": first(~equal[0]),
    }


def measure(folders: list[Path], modes: tuple[Precision, ...] = (REFERENCE_BF16, FAST_BF16)
            ) -> list[dict[str, Any]]:
    """Per fixture and case: float32's frame count, and for each mode its agreement with float32
    (generate, batched prefill)."""
    rows = []
    for folder in folders:
        runs = {p.name: run_fixture(folder, p, paths=("batched",)) for p in (FLOAT32, *modes)}
        for case in load_cases(folder):
            base = torch.tensor(runs[FLOAT32.name][case["name"]]["batched"]["audio_tokens"])
            row = {"fixture": Path(folder).name, "case": case["name"], "float32_frames": base.shape[1]}
            for p in modes:
                got = torch.tensor(runs[p.name][case["name"]]["batched"]["audio_tokens"])
                row[p.name] = compare(base, got)
            rows.append(row)
    return rows
