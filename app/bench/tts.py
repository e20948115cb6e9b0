"""Dia2 runtime benchmarks: ms per frame split into decoder / depformer / codec, streaming time to
first audio, prefix prefill time, peak memory.

Timing does not depend on the weights' values, so full-size shapes are measured with random
weights (no download). On CUDA every timed section ends with a synchronize.
"""

from __future__ import annotations

import platform
import resource
import statistics
import time
from dataclasses import asdict, dataclass, field

import torch

from app.core import FRAME_RATE, Word
from app.tts.config import parse_config
from app.tts.engine import Dia2Engine
from app.tts.model import Dia2Model
from app.tts.options import GenerationOptions
from app.tts.precision import Precision, set_matmul_precision
from app.tts.prefix import PrefixTurn
from app.tts.shapes import published_config
from app.tts.tokenizer import Dia2Tokenizer

SCRIPT = ("[S1] Benchmarks are a kind of conversation with the machine, where you ask the same "
          "question again and again and write down how long the answer takes. [S2] And does it "
          "ever get bored? [S1] Never, that is the nice thing about it.")


def full_size_config(size: str) -> dict:
    """The published checkpoint's config of `size` ("1b" or "2b"); random weights are enough for
    timing. The shapes live in `app.tts.shapes`."""
    return published_config(size)


@dataclass
class TtsBench:
    """One configuration's figures (times in ms unless named otherwise)."""

    name: str  # which model and mode
    device: str  # cpu / cuda device name
    precision: str  # float32, reference or fast (app/tts/precision.py)
    frames: int  # frames timed
    ms_per_frame: float  # median over the timed frames, all work of a frame
    frames_per_s: float  # 1000 / ms_per_frame
    realtime_factor: float  # frames_per_s / 12.5
    decoder_ms: float  # median: decoder step, action guidance and sampling (incl. the host sync)
    depformer_ms: float  # median: codebook 0 and all depformer stages, guidance and sampling
    codec_ms: float | None  # median: Mimi streaming decode of one frame
    first_audio_ms: float | None  # streaming: first text pushed -> first PCM frame decoded
    prefill_ms: dict[str, float] = field(default_factory=dict)  # prefix seconds -> warm-up time
    peak_memory_mb: float = 0.0  # peak GPU memory (CUDA) or peak RSS of the process (CPU)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def random_engine(raw: dict, device: torch.device, precision: Precision, tokenizer: Dia2Tokenizer,
                  cuda_graphs: bool) -> Dia2Engine:
    cfg = parse_config(raw)
    model = Dia2Model.empty(cfg, device, precision)
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0, 0.02)
    set_matmul_precision(precision)
    return Dia2Engine(cfg, model, tokenizer, device, precision, use_graphs=cuda_graphs,
                      source="random")


def time_frames(engine: Dia2Engine, frames: int, warmup: int = 5) -> tuple[list[float], list[float]]:
    """Per-frame (decoder, depformer) times in ms over a long script."""
    options = GenerationOptions(seed=0, cfg_scale=2.0, max_frames=frames + warmup)
    gen = engine.new_generation(options, None)
    gen.add_entries(engine.parse(SCRIPT * 4))
    gen.close_text()
    timings: list[tuple[float, float]] = []
    while not gen.done and len(timings) < frames + warmup:
        gen.step(timings)
    timed = timings[warmup:]
    return [d for d, _ in timed], [a for _, a in timed]


def time_first_audio(engine: Dia2Engine, repeats: int = 3) -> float | None:
    """Streaming: text pushed (all of it at once) -> first PCM frame, median in ms."""
    if engine.codec is None:
        return None
    out = []
    for r in range(repeats):
        stream = engine.stream(GenerationOptions(seed=r))
        t0 = time.perf_counter()
        stream.push_text(SCRIPT)
        stream.finish()
        for event in stream:
            if getattr(event, "pcm", None) is not None:
                out.append((time.perf_counter() - t0) * 1000)
                stream.cancel()
                break
    return statistics.median(out) if out else None


def time_codec(engine: Dia2Engine, frames: int = 50) -> float | None:
    if engine.codec is None:
        return None
    k = engine.config.data.num_codebooks
    dec = engine.codec.stream_decoder()
    codes = torch.randint(0, 2048, (frames, k), device=engine.device)
    times = []
    for i in range(frames):
        _sync(engine.device)
        t0 = time.perf_counter()
        dec.decode_frame(codes[i])
        _sync(engine.device)
        times.append((time.perf_counter() - t0) * 1000)
    dec.close()
    return statistics.median(times[5:])


def time_prefill(engine: Dia2Engine, seconds: float, prefill: str = "batched") -> float:
    """Warm-up time for a prefix of `seconds` (one speaker, a word every 0.4 s)."""
    frames = int(seconds * FRAME_RATE)
    k = engine.config.data.num_codebooks
    words = tuple(Word("word", 0.4 * i + 0.05, 0.4 * i + 0.3) for i in range(int(seconds / 0.4)))
    turn = PrefixTurn(2, words, codes=torch.randint(0, 2048, (k, frames)))
    plan = engine.plan_prefix([turn])
    gen = engine.new_generation(GenerationOptions(seed=0), plan, prefill)
    gen.add_entries(engine.parse("[S1] Hello there."))
    gen.close_text()
    _sync(engine.device)
    t0 = time.perf_counter()
    with torch.inference_mode():
        while gen.advance_warmup():
            pass
    _sync(engine.device)
    return (time.perf_counter() - t0) * 1000


def peak_memory_mb(device: torch.device) -> float:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def bench_engine(name: str, engine: Dia2Engine, frames: int, prefixes: tuple[float, ...]) -> TtsBench:
    dec, dep = time_frames(engine, frames)
    total = [a + b for a, b in zip(dec, dep, strict=True)]
    ms = statistics.median(total)
    prefill = {f"{s:g}s": round(time_prefill(engine, s), 2) for s in prefixes
               if s * FRAME_RATE < engine.config.max_context_steps - 50}
    dev = engine.device
    return TtsBench(
        name=name,
        device=torch.cuda.get_device_name(dev) if dev.type == "cuda" else f"cpu ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads)",
        precision=engine.precision.name,
        frames=len(total),
        ms_per_frame=round(ms, 3),
        frames_per_s=round(1000 / ms, 2),
        realtime_factor=round(1000 / ms / FRAME_RATE, 3),
        decoder_ms=round(statistics.median(dec), 3),
        depformer_ms=round(statistics.median(dep), 3),
        codec_ms=None if (c := time_codec(engine)) is None else round(c, 3),
        first_audio_ms=None if (f := time_first_audio(engine)) is None else round(f, 2),
        prefill_ms=prefill,
        peak_memory_mb=round(peak_memory_mb(dev), 1),
    )


def as_dict(b: TtsBench) -> dict:
    return asdict(b)
