"""A tiny random-weight Mimi for demos, tests and CI: no download, fast on any CPU.

It is built by moshi's own `get_mimi` from a shrunken `mimi_config` that keeps everything the rest
of the app relies on (24 kHz, 12.5 frames a second, 1920-sample frames, encoder ratios 8/6/5/4,
32 codebooks of 2048 entries) and only narrows the networks. Saved as safetensors in the moshi
layout, with its config in the file's metadata, it loads through `MimiCodec.load` exactly like the
published codec. It makes noise, not speech.
"""

from __future__ import annotations

import copy
import json
import logging
from pathlib import Path
from typing import Any

import torch
from moshi.models import loaders
from moshi.models.compression import MimiModel
from safetensors.torch import save_file

from app.codec.mimi import CONFIG_METADATA_KEY, DEFAULT_CODEBOOKS, MimiCodec
from app.torch_device import resolve_torch_device

log = logging.getLogger(__name__)

DEMO_WIDTH = 32  # latent width of the demo codec's encoder, decoder and transformers


def demo_mimi_config() -> dict[str, Any]:
    """moshi `mimi_config` of the demo codec: the published layout with narrow networks."""
    cfg = copy.deepcopy(loaders._mimi_config)
    cfg["seanet"].update(n_filters=4, dimension=DEMO_WIDTH)
    cfg["quantizer"].update(dimension=16, input_dimension=DEMO_WIDTH, output_dimension=DEMO_WIDTH)
    cfg["transformer"].update(
        d_model=DEMO_WIDTH,
        num_heads=2,
        num_layers=1,
        dim_feedforward=64,
        input_dimension=DEMO_WIDTH,
        output_dimensions=[DEMO_WIDTH],
    )
    return cfg


def build_demo_mimi(
    seed: int = 0,
    *,
    device: str | torch.device = "cpu",
    num_codebooks: int = DEFAULT_CODEBOOKS,
    config: dict[str, Any] | None = None,
) -> MimiCodec:
    """A random-weight Mimi, the same for the same seed (built on the CPU, then moved).

    `config` defaults to `demo_mimi_config()`; pass `loaders._mimi_config` for a full-size random
    codec (for timing). moshi starts codebooks at zero; here they are drawn from what the random
    encoder makes of a synthetic signal, so that different sounds get different codes.
    """
    dev = resolve_torch_device(device)
    cfg = copy.deepcopy(config or demo_mimi_config())
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = loaders.get_mimi(None, mimi_config=cfg, device="cpu", num_codebooks=num_codebooks)
    _calibrate_codebooks(model, torch.Generator().manual_seed(seed + 1))
    return MimiCodec(model.to(dev))


def _calibration_audio(gen: torch.Generator, seconds: float = 20.0) -> torch.Tensor:
    """A varied synthetic signal `[1, 1, samples]`: noise bursts, tones and gaps at many levels."""
    rate = loaders.SAMPLE_RATE
    pieces = []
    total = 0
    while total < seconds * rate:
        n = int(rate * (0.2 + 0.8 * float(torch.rand((), generator=gen))))
        level = 10 ** (-3 * float(torch.rand((), generator=gen)))
        kind = int(torch.randint(0, 3, (), generator=gen))
        if kind == 0:
            piece = torch.randn(n, generator=gen)
        elif kind == 1:
            hz = 80 + 3000 * float(torch.rand((), generator=gen))
            piece = torch.sin(2 * torch.pi * hz * torch.arange(n) / rate)
        else:
            piece = torch.zeros(n)
        pieces.append(level * piece)
        total += n
    audio = torch.cat(pieces)
    frame = int(rate / loaders.FRAME_RATE)
    audio = audio[: audio.shape[0] // frame * frame]
    return audio.clamp(-1, 1).view(1, 1, -1)


@torch.no_grad()
def _calibrate_codebooks(model: MimiModel, gen: torch.Generator) -> None:
    """Fill every codebook with jittered samples of the residual it will see, level by level."""
    latent = model._encode_to_unquantized_latent(_calibration_audio(gen))  # [1, D, T]
    quantizer = model.quantizer
    for rvq in (quantizer.rvq_first, quantizer.rvq_rest):
        residual = rvq.input_proj(latent)  # [1, d, T]
        for layer in rvq.vq.layers:
            book = layer._codebook
            vectors = layer.project_in(residual[0].T)  # [T, d']
            pick = torch.randint(0, vectors.shape[0], (book.codebook_size,), generator=gen)
            jitter = torch.randn(book.codebook_size, vectors.shape[1], generator=gen)
            entries = vectors[pick] + 0.05 * vectors.std(dim=0) * jitter
            book.embedding_sum.copy_(entries)
            book.cluster_usage.fill_(1.0)
            book._initialized.fill_(1.0)
            book._embedding = None  # moshi caches embedding_sum / cluster_usage here
            residual = residual - layer.decode(layer.encode(residual))


def save_mimi(codec: MimiCodec, path: str | Path, config: dict[str, Any]) -> Path:
    """Write `codec`'s weights as moshi-layout safetensors with `config` in the metadata."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().to("cpu").contiguous() for k, v in codec.model.state_dict().items()}
    tmp = path.with_name(path.name + ".partial")
    save_file(state, str(tmp), metadata={CONFIG_METADATA_KEY: json.dumps(config)})
    tmp.replace(path)
    log.info("saved Mimi weights (%d tensors) to %s", len(state), path)
    return path


def save_demo_mimi(path: str | Path, seed: int = 0) -> Path:
    """Build the demo codec for `seed` and save it to `path` (load it with `MimiCodec.load`)."""
    return save_mimi(build_demo_mimi(seed), path, demo_mimi_config())
