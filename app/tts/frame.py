"""The per-frame network work, eager or captured in CUDA graphs.

A frame is two halves with one host sync between them (reading the sampled text action):

1. `decode`: read the audio tokens of step t from the delayed buffer, run the decoder at RoPE
   position `pos` writing cache slot `slot`, guide and sample the action.
2. `audio`: guide, mask and sample codebook 0, run the K - 1 depformer stages (each guided and
   sampled), and store the K codes at delayed position t + 1.

All inputs live in preallocated device tensors (`FrameBuffers`), so each half can be replayed as a
CUDA graph with no allocation and no host sync. If capturing fails (a driver, a GPU or a torch
build that cannot capture these kernels), the runner restores what the attempt touched, runs the
frame eagerly from then on and reports the failure once through `on_fallback`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import torch

from app.tts.cache import KVCache
from app.tts.config import Dia2Config
from app.tts.layers import Rotary
from app.tts.model import Dia2Model
from app.tts.options import GenerationOptions
from app.tts.sampling import guide, mask_tokens, sample

log = logging.getLogger(__name__)


@dataclass
class FrameBuffers:
    """Device tensors a frame reads and writes. B = 2 rows: conditional, unconditional."""

    tokens: torch.Tensor  # long [B, 1, 2 + K]: this step's input tokens
    audio: torch.Tensor  # long [K, capacity]: codes at delayed positions
    step: torch.Tensor  # long [1]: t
    pos: torch.Tensor  # long [1]: RoPE position of the step
    slot: torch.Tensor  # long [1]: decoder cache slot the step writes
    text: torch.Tensor  # long [2, B]: (main, second) of this step for the depformer
    noise: torch.Tensor  # float [1 + K]: uniforms for the text action and each codebook
    action: torch.Tensor  # long [1]: the sampled action (output of `decode`)
    hidden: torch.Tensor  # [B, n_embd]: the decoder's normed output (output of `decode`)
    cb0_logits: torch.Tensor  # [B, V]: codebook-0 logits (output of `decode`)
    codes: torch.Tensor  # long [K]: the codes sampled this frame (output of `audio`)


class FrameRunner:
    """Runs the two halves of a frame for one model and one set of options."""

    def __init__(self, model: Dia2Model, cfg: Dia2Config, options: GenerationOptions, rotary: Rotary,
                 dep_rotary: Rotary | None, decoder_cache: KVCache, depformer_cache: KVCache,
                 buffers: FrameBuffers, delays: torch.Tensor, use_graphs: bool,
                 on_fallback: Callable[[BaseException], None] | None = None) -> None:
        self.model, self.cfg, self.opt = model, cfg, options
        self.rotary, self.dep_rotary = rotary, dep_rotary
        self.dec_cache, self.dep_cache = decoder_cache, depformer_cache
        self.buf = buffers
        self.delays = delays  # long [K]
        data = cfg.data
        self._bos = torch.full_like(delays, data.audio_bos_token_id)
        self._cb0_masked = (data.audio_pad_token_id, data.audio_bos_token_id)
        self._graphs: dict[str, torch.cuda.CUDAGraph] = {}
        self.use_graphs = use_graphs
        self.on_fallback = on_fallback  # told once when capturing fails

    # -- the two halves, written once and either run or captured -------------------------
    def _decode(self) -> None:
        b = self.buf
        column = b.audio.index_select(1, b.step).view(-1)  # [K]
        audio_in = torch.where(b.step < self.delays, self._bos, column)
        b.tokens[:, 0, 2:].copy_(audio_in.unsqueeze(0).expand(b.tokens.shape[0], -1))
        hidden, action_logits, cb0_logits = self.model.transformer(
            b.tokens, self.rotary, b.pos, self.dec_cache, b.slot
        )
        b.hidden.copy_(hidden[:, 0])
        b.cb0_logits.copy_(cb0_logits[:, 0])
        guided = guide(action_logits[:, 0], self.opt.cfg_scale, self.opt.cfg_filter_k)
        b.action.copy_(sample(guided, self.opt.text_temperature, self.opt.text_top_k, b.noise[0]))

    def _audio(self) -> None:
        b, opt = self.buf, self.opt
        guided = mask_tokens(guide(b.cb0_logits, opt.cfg_scale, opt.cfg_filter_k), self._cb0_masked)
        token = sample(guided, opt.audio_temperature, opt.audio_top_k, b.noise[1])
        b.codes[0:1].copy_(token)
        rows = b.hidden.shape[0]
        text = (b.text[0], b.text[1])
        for s in range(self.cfg.num_stages):
            logits = self.model.depformer.stage(
                s, b.hidden, token.expand(rows), text, self.dep_rotary, self.dep_cache
            )
            token = sample(guide(logits, opt.cfg_scale, opt.cfg_filter_k), opt.audio_temperature,
                           opt.audio_top_k, b.noise[2 + s])
            b.codes[s + 1 : s + 2].copy_(token)
        b.audio.index_copy_(1, b.step + 1, b.codes.view(-1, 1))

    # -- public --------------------------------------------------------------------------
    def decode(self) -> int:
        """First half; returns the sampled action (the frame's one host sync)."""
        self._run("decode", self._decode)
        return int(self.buf.action.item())

    def audio(self) -> None:
        """Second half; the codes land in `buffers.audio[:, t + 1]`."""
        self._run("audio", self._audio)

    def _run(self, name: str, fn) -> None:
        if not self.use_graphs:
            fn()
            return
        graph = self._graphs.get(name)
        if graph is None:
            try:
                graph = self._capture(fn)
            except Exception as exc:  # noqa: BLE001 - any capture failure: run eagerly instead
                self._fall_back(exc)
                fn()
                return
            self._graphs[name] = graph
        graph.replay()

    def _fall_back(self, exc: BaseException) -> None:
        self.use_graphs = False
        self._graphs.clear()
        if self.on_fallback is not None:
            self.on_fallback(exc)

    def _capture(self, fn) -> torch.cuda.CUDAGraph:
        # Both halves only read and write the preallocated buffers and caches, so a capture is
        # equivalent to running them. Capture runs the work once more, so state that the work
        # mutates (the cache length, the audio column) is saved, and restored after the warm-up,
        # after the capture, and whatever happens in between.
        saved = (self.dec_cache.length.clone(), self.buf.audio.clone())

        def restore() -> None:
            self.dec_cache.length.copy_(saved[0])
            self.buf.audio.copy_(saved[1])

        try:
            stream = torch.cuda.Stream()
            stream.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(stream):
                fn()  # warm-up on a side stream, as graph capture requires
            torch.cuda.current_stream().wait_stream(stream)
            restore()
            graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(graph):
                fn()
        finally:
            # Capturing does not execute the work; the caller's replay (or eager run) does.
            restore()
        return graph
