"""The generation loop: explicit state, warm-up on a prefix, one frame per step.

`Generation` owns everything one request needs (caches, buffers, the text state machine's state,
the random generator). It is driven step by step: `can_step()` says whether enough text has
arrived to take the next step exactly as a batch run would, `step()` takes it, and
`completed_frames()` hands out the aligned frames that became final.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import torch

from app.core import FRAME_RATE
from app.tts.cache import KVCache
from app.tts.config import Dia2Config
from app.tts.frame import FrameBuffers, FrameRunner
from app.tts.options import GenerationOptions
from app.tts.prefix import PrefixPlan
from app.tts.state_machine import Entry, TextIds, TextStateMachine

log = logging.getLogger(__name__)

FLUSH_PADDING = 6  # extra steps after the text ends, beyond the largest delay


@dataclass(frozen=True)
class FrameOut:
    """An aligned frame that became final."""

    index: int  # aligned frame index from the start of the output (crop applied)
    codes: torch.Tensor  # long [K] on the model's device


def _kv_caches(cfg: Dia2Config, rows: int, capacity: int, device: torch.device,
               dtype: torch.dtype) -> tuple[KVCache, KVCache]:
    """The decoder's cache (`capacity` steps) and the depformer's (one slot per stage)."""
    d, p = cfg.decoder, cfg.depformer
    decoder = KVCache.allocate(d.n_layer, rows, d.kv_heads, capacity, d.head_dim,
                               device=device, dtype=dtype)
    depformer = KVCache.allocate(p.n_layer, rows, p.kv_heads, max(cfg.num_stages, 1),
                                 p.head_dim, device=device, dtype=dtype)
    return decoder, depformer


class Generation:
    """One request's generation state and its step loop."""

    def __init__(self, runtime, options: GenerationOptions, prefix: PrefixPlan | None,
                 *, prefill: str = "batched") -> None:
        self.rt = runtime
        self.opt = options
        cfg = runtime.config
        data = cfg.data
        device, precision = runtime.device, runtime.precision
        self.k = data.num_codebooks
        self.max_delay = data.max_delay
        # Both rows run even without guidance, as in the reference: a one-row matrix product
        # takes another BLAS path than a two-row one and rounds differently in the last bits,
        # which the reference's bfloat16 mode turns into different tokens.
        self.rows = 2
        self.prefix = prefix
        self.prefill = prefill
        self.ids = TextIds(pad=data.text_pad_token_id, new_word=data.text_new_word_token_id)
        self.machine = TextStateMachine(self.ids, second_stream_ahead=data.second_stream_ahead)
        self.state = self.machine.new_state(options.initial_padding)
        self.text_done = False
        self.prefix_frames = prefix.frames if prefix else 0
        self.max_steps = cfg.max_context_steps
        if self.prefix_frames >= self.max_steps:
            raise ValueError("prefix longer than the context; the caller must trim it")
        capacity = self.max_steps + 1
        self.delays = torch.tensor(data.delay_pattern, dtype=torch.long, device=device)
        self.buf = self._frame_buffers(runtime, capacity)
        self.dec_cache, dep_cache = _kv_caches(cfg, self.rows, capacity, device, precision.compute)
        self.runner = FrameRunner(runtime.model, cfg, options, runtime.rotary, runtime.dep_rotary,
                                  self.dec_cache, dep_cache, self.buf, self.delays,
                                  use_graphs=runtime.use_graphs,
                                  on_fallback=runtime.graphs_failed)
        seed = options.seed if options.seed is not None else int(torch.seed() % (2**63))
        self.rng = torch.Generator(device=device).manual_seed(seed)
        self.seed = seed
        # Progress.
        self.warmup_next = 0  # next warm-up step (== prefix_frames when done)
        self.start_step = max(self.prefix_frames - 1, 0)
        self.t = self.start_step  # next generation step
        self.last_step = self.start_step - 1
        self.first_word_frame: int | None = None
        self.end_cutoff: int | None = None
        self.done = False
        self.truncated = False  # stopped by the context limit before the text was spoken
        self._next_frame: int | None = None  # next aligned frame to hand out (absolute index)
        self._frames_out = 0  # frames handed out so far
        self._words_seen = prefix.word_count if prefix and not options.include_prefix else 0
        if prefix is not None:
            self.state.entries.extend(prefix.entries)

    def _frame_buffers(self, runtime, capacity: int) -> FrameBuffers:
        """The frame's device tensors: the prefix's codes at their delays, the first tokens
        (BOS on the conditional row, zero on the unconditional one), and zeroed step state."""
        data = runtime.config.data
        device, precision = runtime.device, runtime.precision
        audio = torch.full((self.k, max(capacity, self.prefix_frames + self.max_delay) + 1),
                           data.audio_pad_token_id, dtype=torch.long, device=device)
        if self.prefix is not None:
            for k, d in enumerate(data.delay_pattern):
                audio[k, d : d + self.prefix_frames] = self.prefix.codes[k].to(device)
        tokens = torch.full((self.rows, 1, data.channels), data.text_pad_token_id,
                            dtype=torch.long, device=device)
        tokens[0, 0, 0] = runtime.tokenizer.special.bos
        tokens[1, 0, 0] = data.text_zero_token_id
        return FrameBuffers(
            tokens=tokens,
            audio=audio,
            step=torch.zeros(1, dtype=torch.long, device=device),
            pos=torch.zeros(1, dtype=torch.long, device=device),
            slot=torch.zeros(1, dtype=torch.long, device=device),
            text=torch.full((2, self.rows), data.text_pad_token_id, dtype=torch.long, device=device),
            noise=torch.zeros(1 + self.k, device=device),
            action=torch.zeros(1, dtype=torch.long, device=device),
            hidden=torch.zeros(self.rows, runtime.config.decoder.n_embd, device=device,
                               dtype=precision.compute),
            cb0_logits=torch.zeros(self.rows, data.audio_vocab_size, device=device,
                                   dtype=precision.logits),
            codes=torch.zeros(self.k, dtype=torch.long, device=device),
        )

    # -- text --------------------------------------------------------------------------
    def add_entries(self, entries: list[Entry]) -> None:
        self.state.entries.extend(entries)

    def close_text(self) -> None:
        self.text_done = True

    def _may_pop(self, *, forced: bool = False) -> bool:
        """Whether the next step can be taken exactly as a batch run would take it.

        A step that starts a word peeks `second_stream_ahead` words further, so it needs that
        many words queued behind the one it starts (or the whole text). Steps that cannot start
        a word (tokens of the current word still pending, or forced padding left) are always safe.
        """
        s = self.state
        if self.text_done or s.pending or (s.forced_padding > 0 and not forced):
            return True
        return s.token_entries_waiting() > self.machine.ahead

    # -- warm-up -----------------------------------------------------------------------
    def warmup_pending(self) -> bool:
        return self.warmup_next < self.prefix_frames

    def advance_possible(self) -> bool:
        """Whether `advance_warmup` would run at least one step now."""
        if not self.warmup_pending():
            return False
        assert self.prefix is not None
        return self.warmup_next not in self.prefix.new_word_steps or self._may_pop(forced=True)

    def advance_warmup(self) -> bool:
        """Run the warm-up steps that the text received so far allows; True if any ran."""
        if not self.warmup_pending():
            return False
        assert self.prefix is not None
        rows = []
        step = self.warmup_next
        main, second = self._current_text()
        while step < self.prefix_frames:
            forced_new = step in self.prefix.new_word_steps
            if forced_new and not self._may_pop(forced=True):
                break
            rows.append((main, second))
            main, second = self.machine.process(step, self.state, 1 if forced_new else 0, forced=True)
            step += 1
        if not rows:
            return False
        self._run_warmup(self.warmup_next, rows)
        self._set_text(main, second)
        self.warmup_next = step
        return True

    def _run_warmup(self, first: int, text_rows: list[tuple[int, int]]) -> None:
        if self.prefill == "stepwise":
            for i, (main, second) in enumerate(text_rows):
                self._set_text(main, second)
                self._decoder_only([first + i])
            return
        n = len(text_rows)
        tokens = self.buf.tokens.expand(-1, n, -1).clone()  # [B, n, C]
        text = torch.tensor(text_rows, dtype=torch.long, device=tokens.device)  # [n, 2]
        tokens[0, :, :2] = text
        self._decoder_only(list(range(first, first + n)), tokens)

    def _decoder_only(self, steps: list[int], tokens: torch.Tensor | None = None) -> None:
        """Decoder over warm-up steps (audio from the prefix), no sampling."""
        device = self.buf.tokens.device
        idx = torch.tensor(steps, dtype=torch.long, device=device)
        if tokens is None:
            tokens = self.buf.tokens.clone()
        column = self.buf.audio.index_select(1, idx).T  # [n, K]
        bos = self.rt.config.data.audio_bos_token_id
        audio_in = torch.where(idx.view(-1, 1) < self.delays.view(1, -1), bos, column)
        tokens[:, :, 2:] = audio_in.unsqueeze(0)
        with torch.inference_mode():
            self.rt.model.transformer(tokens, self.rt.rotary, idx, self.dec_cache, idx)

    # -- generation --------------------------------------------------------------------
    def can_step(self) -> bool:
        return not self.done and not self.warmup_pending() and self._may_pop()

    def step(self, timings: list[tuple[float, float]] | None = None) -> None:
        """Take generation step t (warm-up must be complete).

        With `timings`, the step synchronizes the device around each half and appends
        (decoder ms, depformer ms) to it (for the benchmark; off on the normal path).
        """
        t = self.t
        if (self.end_cutoff is not None and t >= self.end_cutoff) or t >= self.max_steps or (
            self.opt.max_frames is not None and t - self.start_step >= self.opt.max_frames
        ):
            self.done = True
            self.truncated = self.end_cutoff is None
            return
        b = self.buf
        b.step.fill_(t)
        b.pos.fill_(t)
        b.slot.fill_(self.prefix_frames + (t - self.start_step))
        if self.opt.text_temperature > 0 or self.opt.audio_temperature > 0:
            torch.rand(b.noise.shape, generator=self.rng, device=b.noise.device, out=b.noise)
        with torch.inference_mode():
            t0 = self._clock(timings)
            action = self.runner.decode()
            t1 = self._clock(timings)
            main, second = self.machine.process(t, self.state, action)
            if self.first_word_frame is None and main == self.ids.new_word:
                self.first_word_frame = t - self.opt.initial_padding
            b.text[0].fill_(main)
            b.text[1].fill_(second)
            self.runner.audio()
            if timings is not None:
                timings.append(((t1 - t0) * 1000, (self._clock(timings) - t1) * 1000))
        self._set_text(main, second)
        self.last_step = t
        self.t = t + 1
        if self.end_cutoff is None and self.state.end_step is not None:
            self.end_cutoff = self.state.end_step + self.max_delay + FLUSH_PADDING

    def _clock(self, timings: list | None) -> float:
        """perf_counter after a device sync, only when timing."""
        if timings is None:
            return 0.0
        if self.buf.tokens.device.type == "cuda":
            torch.cuda.synchronize(self.buf.tokens.device)
        return time.perf_counter()

    def _current_text(self) -> tuple[int, int]:
        row = self.buf.tokens[0, 0, :2].tolist()
        return int(row[0]), int(row[1])

    def _set_text(self, main: int, second: int) -> None:
        self.buf.tokens[0, 0, 0] = main
        self.buf.tokens[0, 0, 1] = second

    # -- output ------------------------------------------------------------------------
    @property
    def crop(self) -> int | None:
        """Frames cut from the front; None while not yet known."""
        if self.opt.include_prefix:
            return 0
        if self.first_word_frame is not None:
            return max(self.first_word_frame, 0)
        if self.machine.ahead or self.done:
            return self.start_step
        return None

    def total_frames(self) -> int:
        """Aligned frames the finished output holds before cropping."""
        return max(self.last_step + 2 - self.max_delay, 0)

    def completed_frames(self) -> list[FrameOut]:
        """Aligned frames that became final since the last call (crop applied)."""
        crop = self.crop
        if crop is None:
            return []
        ready = self.last_step + 2 - self.max_delay  # frames [0, ready) are final
        if self.done and crop >= self.total_frames():
            crop = 0  # the reference keeps everything when the crop would leave nothing
        if self._next_frame is None or (self._frames_out == 0 and crop < self._next_frame):
            self._next_frame = crop
        out = []
        for f in range(self._next_frame, ready):
            idx = self.delays + f
            out.append(FrameOut(f - crop, self.buf.audio.gather(1, idx.view(-1, 1)).view(-1).clone()))
        self._next_frame = max(self._next_frame, ready)
        self._frames_out += len(out)
        return out

    def aligned_codes(self) -> torch.Tensor:
        """All output frames (crop applied) of a finished generation: long [K, frames]."""
        frames = self.total_frames()
        crop = self.crop or 0
        if crop >= frames:
            crop = 0
        pos = self.delays.view(-1, 1) + torch.arange(frames, device=self.delays.device).view(1, -1)
        return self.buf.audio.gather(1, pos)[:, crop:]

    def timestamps(self) -> list[tuple[str, float]]:
        """(word, seconds) of every word of a finished generation."""
        frames = self.total_frames()
        crop = self.crop or 0
        if crop >= frames:
            crop = 0
        skip = self.prefix.word_count if self.prefix and not self.opt.include_prefix else 0
        return [
            (word, (step - crop) / FRAME_RATE)
            for word, step in self.state.transcript[skip:]
            if step - crop >= 0
        ]

    def new_words(self) -> list[tuple[str, float]]:
        """Words whose start became known since the last call: (word, seconds)."""
        crop = self.crop
        if crop is None:
            return []
        out = []
        transcript = self.state.transcript
        while self._words_seen < len(transcript):
            word, step = transcript[self._words_seen]
            self._words_seen += 1
            if step - crop >= 0:
                out.append((word, (step - crop) / FRAME_RATE))
        return out
