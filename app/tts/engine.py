"""The public facade of the Dia2 runtime.

    engine = Dia2Engine.load_folder("path/to/Dia2-2B")        # app.assets.tts_loader downloads
    result = engine.generate("[S1] Hello!", GenerationOptions(seed=1))
    result.audio_tokens  # long [K, frames]; result.waveform float32 [frames * 1920]
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np
import torch

from app.core import FRAME_RATE, SAMPLE_RATE
from app.errors import UserError, first_line
from app.torch_device import resolve_torch_device
from app.tts.config import Dia2Config, load_config
from app.tts.generator import FLUSH_PADDING, Generation
from app.tts.layers import Rotary
from app.tts.model import Dia2Model
from app.tts.options import GenerationOptions
from app.tts.precision import Precision, resolve_precision, set_matmul_precision
from app.tts.prefix import PrefixPlan, PrefixTurn, build_plan
from app.tts.script import ScriptParser, parse_script
from app.tts.state_machine import Entry
from app.tts.stream import Dia2Stream, StreamDecoder
from app.tts.tokenizer import Dia2Tokenizer
from app.tts.weights import load_weights

log = logging.getLogger(__name__)



@dataclass(frozen=True)
class GenerationResult:
    """A finished generation."""

    audio_tokens: torch.Tensor  # long [K, frames], delays undone, prefix cropped (CPU)
    waveform: np.ndarray | None  # float32 [frames * 1920] at `sample_rate`; None without a codec
    sample_rate: int  # 24000
    timestamps: list[tuple[str, float]]  # (word, seconds from the start of the output)
    seed: int  # the seed that reproduces this run
    truncated: bool  # the context ran out before the text was spoken
    timings: dict[str, float] = field(default_factory=dict)  # seconds per stage


class Codec(Protocol):
    """The audio codec Dia2's codes are in (`app.codec.mimi.MimiCodec`): 24 kHz audio to codes
    and back, whole or frame by frame."""

    def encode(self, audio: np.ndarray) -> torch.Tensor: ...  # float32 [N] -> long [K, frames]

    def decode(self, codes: torch.Tensor) -> np.ndarray: ...  # long [K, frames] -> float32 [N]

    def stream_decoder(self) -> StreamDecoder: ...


class Dia2Engine:
    """A loaded checkpoint (and optionally its codec), ready to generate."""

    def __init__(self, config: Dia2Config, model: Dia2Model, tokenizer: Dia2Tokenizer,
                 device: torch.device, precision: Precision, codec: Codec | None = None,
                 use_graphs: bool = False, source: str = "") -> None:
        self.config = config
        self.model = model
        self.tokenizer = tokenizer
        self.device = device
        self.precision = precision
        self.codec = codec
        self.use_graphs = use_graphs and device.type == "cuda"
        self.graph_failure: str | None = None  # why capturing failed, once it has
        self.source = source
        self.rotary = Rotary(config.decoder.head_dim, config.rope_min_timescale,
                             config.rope_max_timescale, config.max_context_steps, device)
        self.dep_rotary = (
            Rotary(config.depformer.head_dim, config.rope_min_timescale, config.rope_max_timescale,
                   max(config.num_stages, 1), device)
            if config.depformer.apply_rope
            else None
        )

    # -- loading -------------------------------------------------------------------------
    @classmethod
    def load_folder(cls, folder: str | Path, *, device: str = "auto",
                    precision: str | Precision = "auto",
                    codec: Codec | None = None, use_cuda_graphs: bool = True) -> Dia2Engine:
        """Load a checkpoint folder with the default file names (config.json,
        model.safetensors and the tokenizer files)."""
        folder = Path(folder)
        if not folder.is_dir():
            raise UserError(f"{folder} is not a folder holding a Dia2 checkpoint")
        return cls.load_files(folder / "config.json", folder / "model.safetensors", folder,
                              device=device, precision=precision, codec=codec,
                              use_cuda_graphs=use_cuda_graphs)

    @classmethod
    def load_files(cls, config_path: Path, weights_path: Path, tokenizer_path: Path, *,
                   device: str = "auto", precision: str | Precision = "auto",
                   codec: Codec | None = None,
                   use_cuda_graphs: bool = True) -> Dia2Engine:
        """Load a checkpoint from its files. `tokenizer_path`: the folder holding the tokenizer
        files (or one tokenizer file); see app/tts/tokenizer.py. `precision`: a user's choice
        (resolved for the device) or a `Precision` taken as it is (tests run the reference's
        bfloat16 arithmetic on the CPU that way)."""
        dev = resolve_torch_device(device)
        prec = precision if isinstance(precision, Precision) else resolve_precision(precision, dev)
        config = load_config(config_path)
        tokenizer = Dia2Tokenizer.load(tokenizer_path, new_word_id=config.data.text_new_word_token_id)
        if tokenizer.vocab_size > config.data.text_vocab_size:
            raise UserError(
                f"the tokenizer in {tokenizer_path} has {tokenizer.vocab_size} tokens but the model "
                f"embeds only {config.data.text_vocab_size}; the tokenizer is from another checkpoint"
            )
        tokenizer.limit = config.data.text_vocab_size
        t0 = time.perf_counter()
        model = Dia2Model.empty(config, dev, prec)
        load_weights(model, weights_path)
        set_matmul_precision(prec)
        log.info("loaded %s in %.2f s on %s (precision %s)", weights_path.parent,
                 time.perf_counter() - t0, dev, prec.name)
        return cls(config, model, tokenizer, dev, prec, codec=codec, use_graphs=use_cuda_graphs,
                   source=str(weights_path.parent))

    def graphs_failed(self, exc: BaseException) -> None:
        """A frame could not be captured in a CUDA graph: warn once, run eagerly from now on."""
        if self.use_graphs:
            log.warning("CUDA graph capture failed (%s); Dia2 runs its frames eagerly from now on "
                        "(slower; --no-cuda-graphs skips the attempt)", first_line(exc))
        self.use_graphs = False
        self.graph_failure = first_line(exc)

    # -- pieces --------------------------------------------------------------------------
    def parse(self, script: str) -> list[Entry]:
        """Script -> entries (raises UserError on empty scripts and bad tags)."""
        return parse_script(script, self.tokenizer.encode, self.tokenizer.special.speaker1)

    def plan_prefix(self, prefix: Sequence[PrefixTurn] | None) -> PrefixPlan | None:
        encode_audio = self.codec.encode if self.codec is not None else None
        plan = build_plan(prefix or (), self.tokenizer.encode, encode_audio, self.config.data.num_codebooks)
        if plan is not None and plan.frames >= self.config.max_context_steps - 1:
            raise UserError(
                f"the prefix is {plan.frames / FRAME_RATE:.1f} s but the context holds "
                f"{self.config.max_context_steps / FRAME_RATE:.1f} s; use fewer or shorter turns"
            )
        return plan

    def check_fits(self, entries: list[Entry], options: GenerationOptions, plan: PrefixPlan | None) -> None:
        """Refuse, before generating, a script that cannot be spoken within the context."""
        start = max(plan.frames - 1, 0) if plan else 0
        room = self.config.max_context_steps - start
        need = options.initial_padding
        fitting = 0
        words = sum(1 for e in entries if e.tokens)
        for entry in entries:
            need += entry.padding + (1 if entry.tokens else 0)
            if need <= room:
                fitting += 1 if entry.tokens else 0
        need += 1 + self.config.data.max_delay + FLUSH_PADDING
        if need > room:
            raise UserError(
                f"the script needs at least {need} frames ({need / FRAME_RATE:.1f} s) but only "
                f"{room} frames ({room / FRAME_RATE:.1f} s) fit in the context"
                + (" after the prefix" if plan else "")
                + f"; about {fitting} of its {words} words fit. Split it into shorter scripts."
            )

    # -- generation ----------------------------------------------------------------------
    def new_generation(self, options: GenerationOptions, plan: PrefixPlan | None,
                       prefill: str = "batched") -> Generation:
        return Generation(self, options, plan, prefill=prefill)

    def generate(self, script: str, options: GenerationOptions | None = None,
                 prefix: Sequence[PrefixTurn] | None = None, *, prefill: str = "batched") -> GenerationResult:
        """Generate the whole script; returns aligned tokens, waveform and word times."""
        options = options or GenerationOptions()
        t0 = time.perf_counter()
        entries = self.parse(script)
        plan = self.plan_prefix(prefix)
        self.check_fits(entries, options, plan)
        gen = self.new_generation(options, plan, prefill)
        gen.add_entries(entries)
        gen.close_text()
        t1 = time.perf_counter()
        with torch.inference_mode():
            while gen.advance_warmup():
                pass
            t2 = time.perf_counter()
            while not gen.done:
                gen.step()
        t3 = time.perf_counter()
        codes = gen.aligned_codes().cpu()
        waveform = None
        if self.codec is not None and codes.shape[1] > 0:
            waveform = self.codec.decode(codes)
        t4 = time.perf_counter()
        steps = gen.t - gen.start_step
        return GenerationResult(
            audio_tokens=codes,
            waveform=waveform,
            sample_rate=SAMPLE_RATE,
            timestamps=gen.timestamps(),
            seed=gen.seed,
            truncated=gen.truncated,
            timings={"prepare": t1 - t0, "prefill": t2 - t1, "generate": t3 - t2,
                     "decode": t4 - t3, "steps": float(steps)},
        )

    def stream(self, options: GenerationOptions | None = None,
               prefix: Sequence[PrefixTurn] | None = None, *, prefill: str = "batched",
               decoder: StreamDecoder | None = None) -> Dia2Stream:
        """Start a streaming generation; push text into it and iterate its events.

        `decoder`: a codec stream decoder to continue (the previous stream's `.decoder`), so the
        audio of a generation that continues another one joins it without a seam; None starts
        a new one.
        """
        options = options or GenerationOptions()
        plan = self.plan_prefix(prefix)
        gen = self.new_generation(options, plan, prefill)
        parser = ScriptParser(self.tokenizer.encode, self.tokenizer.special.speaker1)
        if decoder is None and self.codec is not None:
            decoder = self.codec.stream_decoder()
        return Dia2Stream(gen, parser, decoder)


