"""Mimi, Kyutai's neural audio codec, through the `moshi` package.

`MimiCodec` wraps a moshi `MimiModel`: batch `encode` (waveform -> codes `[K, T]`), batch `decode`
(codes -> waveform) and a streaming decoder that turns one frame of K codes into 1920 samples while
keeping the convolution and attention state between calls. Mimi runs at 24 kHz with 12.5 frames a
second; Dia2 uses K = 32 codebooks of 2048 entries.

A moshi model holds its streaming state inside its modules, so that state is swapped in and out
per call: each streaming decoder owns its state and lends it to the model for one call at a time, so
several decoders and batch calls can share one codec. A lock serialises all calls, so playback and
prefix encoding may run on different threads.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import torch
from moshi.models import loaders
from moshi.models.compression import MimiModel

from app.core import FRAME_RATE, FRAME_SAMPLES, SAMPLE_RATE
from app.errors import UserError, first_line
from app.torch_device import resolve_torch_device

log = logging.getLogger(__name__)

DEFAULT_CODEBOOKS = 32  # codebooks Dia2 uses
CONFIG_METADATA_KEY = "mimi_config"  # safetensors metadata entry that may hold a moshi mimi_config


def config_from_file(path: Path) -> dict[str, Any] | None:
    """The moshi `mimi_config` stored in a safetensors file's metadata, or None if it has none."""
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as handle:
        meta = handle.metadata() or {}
    text = meta.get(CONFIG_METADATA_KEY)
    return json.loads(text) if text else None


class MimiCodec:
    """Mimi encoder/decoder. Audio is float32 mono at 24 kHz; codes are int64 `[K, T]`."""

    sample_rate: int = SAMPLE_RATE
    frame_rate: float = FRAME_RATE
    frame_size: int = FRAME_SAMPLES

    def __init__(self, model: MimiModel) -> None:
        """Wrap a moshi `MimiModel` (already on its device, in eval mode)."""
        if model.sample_rate != SAMPLE_RATE or model.frame_size != FRAME_SAMPLES:
            raise UserError(
                f"this Mimi runs at {model.sample_rate} Hz with {model.frame_size}-sample frames; "
                f"Dia2 needs {SAMPLE_RATE} Hz and {FRAME_SAMPLES}. Use the moshi Mimi checkpoint."
            )
        self.model = model
        self.device = next(model.parameters()).device
        self._lock = threading.RLock()

    @classmethod
    def load(
        cls,
        weights_path: str | Path | None,
        *,
        device: str | torch.device = "cpu",
        num_codebooks: int = DEFAULT_CODEBOOKS,
        config: dict[str, Any] | None = None,
    ) -> MimiCodec:
        """Build Mimi with moshi's `get_mimi` and load moshi-layout safetensors weights.

        `config` is a moshi `mimi_config`; None takes the one stored in the file's metadata (the
        demo model keeps it there) or else moshi's default (the published codec). `weights_path`
        None leaves moshi's initial values (all-zero codebooks: good for timing only).
        """
        dev = resolve_torch_device(device)
        path = None if weights_path is None else Path(weights_path)
        if path is not None:
            if not path.is_file():
                raise UserError(f"Mimi weights not found: {path}. Run `uv run main.py download`.")
            if config is None:
                try:
                    config = config_from_file(path)
                except Exception as exc:  # safetensors raises its own error types
                    raise UserError(f"{path} is not a readable safetensors file ({exc}).") from exc
        shape: dict[str, Any] = config or loaders._mimi_config
        max_k = int(shape["quantizer"]["n_q"])
        if not 1 <= num_codebooks <= max_k:
            raise UserError(f"num_codebooks must be between 1 and {max_k}, not {num_codebooks}.")
        try:
            model = loaders.get_mimi(path, mimi_config=config, device=dev, num_codebooks=num_codebooks)
        except RuntimeError as exc:  # load_state_dict: missing/unexpected keys, shape mismatch
            raise UserError(
                f"{path} does not hold Mimi weights in the moshi layout ({first_line(exc)}). "
                "Use tokenizer-e351c8d8-checkpoint125.safetensors from kyutai/moshiko-pytorch-bf16."
            ) from exc
        log.info("loaded Mimi from %s on %s with %d codebooks", path, dev, num_codebooks)
        return cls(model)

    @property
    def num_codebooks(self) -> int:
        """Active codebooks K."""
        return int(self.model.num_codebooks)

    @property
    def cardinality(self) -> int:
        """Entries in each codebook (2048)."""
        return int(self.model.cardinality)

    @contextmanager
    def _batch_mode(self) -> Iterator[None]:
        """Run a batch call with the model out of streaming mode (any state set aside, then back)."""
        with self._lock, torch.no_grad():
            if not self.model.is_streaming:
                yield
                return
            saved = self.model.get_streaming_state()
            self.model.set_streaming_state(dict.fromkeys(saved))
            try:
                yield
            finally:
                self.model.set_streaming_state(saved)

    def encode(self, audio: np.ndarray, *, sample_rate: int = SAMPLE_RATE) -> torch.Tensor:
        """Encode a mono 24 kHz waveform `[samples]` to codes `[K, T]` (int64, on the CPU).

        The tail is padded with silence to a whole frame: T = ceil(samples / 1920).
        """
        wav = check_audio(audio, sample_rate)
        frames = -(-wav.shape[0] // FRAME_SAMPLES)
        padded = np.zeros(frames * FRAME_SAMPLES, dtype=np.float32)
        padded[: wav.shape[0]] = wav
        x = torch.from_numpy(padded).to(self.device).view(1, 1, -1)
        with self._batch_mode():
            codes = self.model.encode(x)
        assert codes.shape == (1, self.num_codebooks, frames), codes.shape
        return codes[0].to("cpu", torch.int64)

    def decode(self, codes: torch.Tensor) -> np.ndarray:
        """Decode codes `[K, T]` to a float32 waveform `[T * 1920]`."""
        codes = self._check_codes(codes, frames_dim=True)
        with self._batch_mode():
            out = self.model.decode(codes.view(1, self.num_codebooks, -1))
        return out[0, 0].float().cpu().numpy()

    def stream_decoder(self) -> MimiStreamDecoder:
        """A new streaming decoder with its own state (several may be open at once)."""
        return MimiStreamDecoder(self)

    def _check_codes(self, codes: torch.Tensor, *, frames_dim: bool) -> torch.Tensor:
        """Validate codes `[K, T]` (or `[K]`) and return them as int64 on the codec's device."""
        codes = torch.as_tensor(codes)
        want = "[K, T]" if frames_dim else "[K]"
        if codes.dim() != (2 if frames_dim else 1) or codes.shape[0] != self.num_codebooks:
            raise UserError(
                f"Mimi codes must be shaped {want} with K = {self.num_codebooks}, "
                f"got {tuple(codes.shape)}."
            )
        if codes.dtype.is_floating_point or codes.dtype == torch.bool:
            raise UserError(f"Mimi codes must be integers, got {codes.dtype}.")
        if frames_dim and codes.shape[1] == 0:
            raise UserError("no Mimi frames to decode (T = 0).")
        low, high = (int(v) for v in torch.aminmax(codes))
        if low < 0 or high >= self.cardinality:
            raise UserError(
                f"Mimi codes must lie in [0, {self.cardinality}); got values from {low} to "
                f"{high} (map BOS/PAD tokens out first)."
            )
        return codes.to(self.device, torch.int64)


class MimiStreamDecoder:
    """Frame-by-frame Mimi decoding; keeps moshi's streaming state between calls.

    moshi keeps streaming state inside the model's modules. Each decoder owns one such state and
    puts it into the model only for the length of a call (under the codec's lock), so decoders
    and batch calls on the same codec do not disturb each other. Nothing needs closing, but
    `close()` frees the state early and makes later calls an error.
    """

    def __init__(self, codec: MimiCodec) -> None:
        """Create a fresh streaming state for `codec`'s model (use `codec.stream_decoder()`)."""
        self._codec = codec
        model = codec.model
        with codec._lock:
            if model.is_streaming:  # someone entered moshi's streaming mode directly
                raise RuntimeError("the Mimi model is already in moshi streaming mode")
            model.streaming(1)  # creates the states; we take them out of the model below
            self._state: dict[str, Any] | None = model.get_streaming_state()
            model.set_streaming_state(dict.fromkeys(self._state))
        self.frames = 0  # frames decoded since creation or the last reset

    @contextmanager
    def _active(self) -> Iterator[MimiModel]:
        """The model with this decoder's state in place, for the length of one call."""
        if self._state is None:
            raise RuntimeError("this Mimi streaming decoder is closed")
        codec = self._codec
        with codec._lock, torch.no_grad():
            codec.model.set_streaming_state(self._state)
            try:
                yield codec.model
            finally:
                self._state = codec.model.get_streaming_state()
                codec.model.set_streaming_state(dict.fromkeys(self._state))

    def decode_frame(self, codes: torch.Tensor) -> np.ndarray:
        """Decode one frame of codes `[K]` to 1920 float32 samples."""
        codes = self._codec._check_codes(codes, frames_dim=False)
        with self._active() as model:
            out = model.decode(codes.view(1, -1, 1))
        self.frames += 1
        return out[0, 0].float().cpu().numpy()

    def reset(self) -> None:
        """Forget the past: the next frame decodes as if it were the first."""
        with self._active() as model:
            model.reset_streaming()
        self.frames = 0

    def close(self) -> None:
        """Free the streaming state; later calls raise. Idempotent."""
        self._state = None

    def __enter__(self) -> MimiStreamDecoder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def check_audio(audio: np.ndarray, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Validate a waveform for Mimi and return it as float32 `[samples]`.

    Refuses, with what to do: another sample rate, more than one channel, integer samples, no
    samples, non-finite values, and values beyond [-1, 1].
    """
    if sample_rate != SAMPLE_RATE:
        raise UserError(
            f"audio is at {sample_rate} Hz but Mimi needs {SAMPLE_RATE} Hz; resample it first "
            "(app.codec.prepare_voice does this for files)."
        )
    wav = np.asarray(audio)
    if wav.ndim == 2 and 1 in wav.shape:
        wav = wav.reshape(-1)
    if wav.ndim != 1:
        raise UserError(
            f"audio must be mono [samples], got shape {wav.shape}; mix the channels down first "
            "(app.codec.prepare_voice does this for files)."
        )
    if not np.issubdtype(wav.dtype, np.floating):
        raise UserError(f"audio must be float samples in [-1, 1], got {wav.dtype}; scale it first.")
    if wav.shape[0] == 0:
        raise UserError("audio is empty: nothing to encode.")
    wav = wav.astype(np.float32, copy=False)
    if not np.isfinite(wav).all():
        raise UserError("audio contains NaN or infinite samples; check how it was produced.")
    peak = float(np.abs(wav).max())
    if peak > 1.0 + 1e-4:
        raise UserError(f"audio peaks at {peak:.3g}, beyond [-1, 1]; normalise it first.")
    return wav
