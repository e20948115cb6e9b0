"""The one-shot GPU check (`bench --gpu-check`): everything about the CUDA path that a CPU machine
cannot show, in one run of a few minutes on an NVIDIA GPU, written to one JSON file.

1. Frames captured in CUDA graphs give the tokens of eager frames (greedy, guidance on).
2. The bfloat16 modes (`reference`, `fast`) against float32: token agreement over greedy frames
   on the published shapes with the same random weights.
3. Speed of the published 1B and 2B shapes (random weights; speed does not depend on their values)
   in each mode: frames/s, decoder/depformer split, first audio (with a full-size random Mimi),
   prefill of 10/30/60 s prefixes, peak GPU memory.
4. Speech recognition on CUDA (faster-whisper / CTranslate2): whether it starts, and how long a
   transcription takes.

Every part runs even if an earlier one failed; a failure is recorded with its reason. Random weights
make no speech, so the agreement figures say how often rounding flips a greedy choice on these
networks, not how the voice sounds.
"""

from __future__ import annotations

import logging
import platform
import statistics
import subprocess
import time
import traceback
from collections.abc import Callable
from typing import Any

import torch

from app.core import ASR_RATE
from app.errors import first_line
from app.tts.options import GenerationOptions
from app.tts.precision import FAST_BF16, FLOAT32, REFERENCE_BF16, Precision

log = logging.getLogger(__name__)

SIZES = ("1b", "2b")
MODES = (REFERENCE_BF16, FAST_BF16)


def environment() -> dict[str, Any]:
    """What the check ran on."""
    dev = torch.device("cuda")
    props = torch.cuda.get_device_properties(dev)
    free, total = torch.cuda.mem_get_info(dev)
    return {
        "gpu": props.name,
        "capability": f"{props.major}.{props.minor}",
        "multiprocessors": props.multi_processor_count,
        "memory_gib": round(total / 2**30, 1),
        "free_gib": round(free / 2**30, 1),
        "driver": _driver_version(),
        "torch": torch.__version__,
        "torch_cuda": torch.version.cuda,
        "python": platform.python_version(),
    }


def _driver_version() -> str | None:
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
                             capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip().splitlines()[0] if out.returncode == 0 and out.stdout.strip() else None


def greedy_options(frames: int) -> GenerationOptions:
    """Greedy text and audio, guidance on (the published default scale), a fixed frame count."""
    return GenerationOptions(seed=0, text_temperature=0.0, audio_temperature=0.0, cfg_scale=2.0,
                             max_frames=frames)


def greedy_codes(engine, frames: int, script: str) -> torch.Tensor:
    """Codes [K, steps] at the delayed positions of a greedy generation of `frames` frames."""
    gen = engine.new_generation(greedy_options(frames), None)
    gen.add_entries(engine.parse(script))
    gen.close_text()
    with torch.inference_mode():
        while not gen.done:
            gen.step()
    last = gen.t + 1
    return gen.buf.audio[:, 1:last].clone().cpu()


def agreement(a: torch.Tensor, b: torch.Tensor) -> dict[str, Any]:
    """How far two [K, steps] code tensors agree: the fraction of equal codes, of equal
    codebook-0 codes, and the first step where any code differs (None: never)."""
    steps = min(a.shape[1], b.shape[1])
    a, b = a[:, :steps], b[:, :steps]
    equal = a == b
    differing = (~equal).any(dim=0).nonzero()
    return {
        "steps": steps,
        "codes_equal": round(equal.float().mean().item(), 4),
        "codebook0_equal": round(equal[0].float().mean().item(), 4),
        "first_difference": int(differing[0]) if len(differing) else None,
    }


def engines_sharing_weights(raw: dict, tokenizer, precisions: tuple[Precision, ...],
                            seed: int = 0, device: str = "cuda") -> dict[str, Any]:
    """One engine per precision, all holding the same random weights (drawn once in float32,
    then copied, rounding where a mode stores bfloat16)."""
    from app.bench.tts import random_engine

    dev = torch.device(device)
    torch.manual_seed(seed)
    base = random_engine(raw, dev, FLOAT32, tokenizer, cuda_graphs=True)
    out = {FLOAT32.name: base}
    source = dict(base.model.named_parameters())
    for prec in precisions:
        if prec is FLOAT32:
            continue
        eng = random_engine(raw, dev, prec, tokenizer, cuda_graphs=True)
        with torch.no_grad():
            for name, p in eng.model.named_parameters():
                p.copy_(source[name])
        out[prec.name] = eng
    return out


def check_graphs(raw: dict, tokenizer, script: str, frames: int,
                 device: str = "cuda") -> dict[str, Any]:
    """Part 1: per precision, greedy codes with CUDA graphs == eager codes."""
    from app.tts.precision import set_matmul_precision

    result: dict[str, Any] = {}
    engines = engines_sharing_weights(raw, tokenizer, (FLOAT32, *MODES), device=device)
    for name, eng in engines.items():
        set_matmul_precision(eng.precision)
        eng.use_graphs = False
        eager = greedy_codes(eng, frames, script)
        eng.use_graphs = True
        graphs = greedy_codes(eng, frames, script)
        result[name] = {**agreement(eager, graphs), "graph_failure": eng.graph_failure,
                        "identical": bool(torch.equal(eager, graphs))}
    del engines
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
    return result


def check_precisions(raw: dict, tokenizer, script: str, frames: int,
                     device: str = "cuda") -> dict[str, Any]:
    """Part 2: each bfloat16 mode's greedy codes against float32's, same weights."""
    from app.tts.precision import set_matmul_precision

    engines = engines_sharing_weights(raw, tokenizer, (FLOAT32, *MODES), device=device)
    codes = {}
    for name, eng in engines.items():
        set_matmul_precision(eng.precision)
        codes[name] = greedy_codes(eng, frames, script)
    del engines
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
    return {name: agreement(codes[FLOAT32.name], c) for name, c in codes.items()
            if name != FLOAT32.name}


def time_sizes(tokenizer, frames: int, prefixes: tuple[float, ...]) -> list[dict[str, Any]]:
    """Part 3: bench figures of each published shape in each mode, with a full-size random Mimi."""
    from moshi.models import loaders

    from app.assets.demo_mimi import build_demo_mimi
    from app.bench.tts import as_dict, bench_engine, full_size_config, random_engine

    dev = torch.device("cuda")
    codec = build_demo_mimi(device=dev, config=loaders._mimi_config)
    out = []
    for size in SIZES:
        for prec, graphs in ((REFERENCE_BF16, True), (FAST_BF16, True), (REFERENCE_BF16, False)):
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats()
            eng = random_engine(full_size_config(size), dev, prec, tokenizer, graphs)
            eng.codec = codec
            name = (f"Dia2-{size.upper()} shape, random weights, {prec.name}, "
                    f"{'CUDA graphs' if graphs else 'eager'}")
            out.append(as_dict(bench_engine(name, eng, frames, prefixes)))
            del eng
    return out


def check_recognition(model: str | None) -> dict[str, Any]:
    """Part 4: faster-whisper on CUDA: load, transcribe 5 s of a synthetic vowel-like signal.

    `model`: a Whisper folder or name; None: the packaged Whisper base where it is installed, else
    the locally built random demo Whisper (no download either way; the demo one shows that the CUDA
    libraries load and run, not accuracy)."""
    import numpy as np

    from app.asr.recognizer import AsrConfig, Recognizer

    t0 = time.perf_counter()
    if model is None:
        model = str(_local_whisper())
    config = AsrConfig(model=model, device="cuda", compute_type="float16", temperatures=(0.0,),
                       max_new_tokens=48, allow_download=False)
    rec = Recognizer(config)
    sr = ASR_RATE  # the recogniser's input rate
    t = np.arange(5 * sr) / sr
    audio = (0.1 * np.sin(2 * np.pi * 220 * t) * (1 + np.sin(2 * np.pi * 3 * t))).astype(np.float32)
    words = rec.transcribe(audio)
    t1 = time.perf_counter()
    times = []
    for _ in range(3):
        s = time.perf_counter()
        rec.transcribe(audio)
        times.append((time.perf_counter() - s) * 1000)
    # The device after transcribing: a recogniser that could not start on CUDA says "cpu" here.
    return {"model": rec.model_name, "device": rec.device,
            "load_and_first_ms": round((t1 - t0) * 1000),
            "transcribe_5s_ms": round(statistics.median(times), 1), "words": len(words)}


def _local_whisper():
    """A Whisper folder that needs no download: the packaged base model, else the demo one."""
    from app.errors import UserError

    try:
        from app.assets.packaged import packaged_whisper

        return packaged_whisper()
    except UserError:  # the packages are not installed (a bare GPU machine)
        from app.asr.demo import build_demo_whisper

        return build_demo_whisper()


def run_gpu_check(*, frames: int = 200, graph_frames: int = 100, bench_frames: int = 100,
                  prefixes: tuple[float, ...] = (10.0, 30.0, 60.0),
                  asr_model: str | None = None,
                  on_part: Callable[[str, dict], None] | None = None) -> dict[str, Any]:
    """Run every part; returns the report (see the module docstring). Needs CUDA."""
    from app.assets.choice import TtsChoice
    from app.assets.tts_loader import load_tts
    from app.bench.tts import SCRIPT, full_size_config

    report: dict[str, Any] = {"environment": environment()}
    demo = load_tts(TtsChoice(demo=True, device="cpu"))  # only its tokenizer is used
    tokenizer = demo.tokenizer
    script = SCRIPT * 3
    parts: list[tuple[str, Callable[[], Any]]] = [
        ("graphs_vs_eager_1b", lambda: check_graphs(full_size_config("1b"), tokenizer, script,
                                                    graph_frames)),
        ("precision_vs_float32_1b", lambda: check_precisions(full_size_config("1b"), tokenizer,
                                                             script, frames)),
        ("precision_vs_float32_2b", lambda: check_precisions(full_size_config("2b"), tokenizer,
                                                             script, frames)),
        ("speed", lambda: time_sizes(tokenizer, bench_frames, prefixes)),
        ("recognition_cuda", lambda: check_recognition(asr_model)),
    ]
    for name, part in parts:
        t0 = time.perf_counter()
        try:
            value: Any = {"ok": True, "result": part()}
        except Exception as exc:  # noqa: BLE001 - every part reports its own failure and goes on
            log.debug("gpu check part %s failed", name, exc_info=True)
            value = {"ok": False, "error": f"{type(exc).__name__}: {first_line(exc)}",
                     "traceback": traceback.format_exc(limit=8)}
        value["seconds"] = round(time.perf_counter() - t0, 1)
        report[name] = value
        if on_part is not None:
            on_part(name, value)
    return report
