"""The published Dia2 shapes (app/tts/shapes.py) against what is published about the real files:
the 1B file's exact size (4,305,028,488 bytes: 440 float32 tensors, 1,076,244,736 parameters)
and the 2B file's rounded size (7.68 GB). Built on the meta device: no memory."""

from __future__ import annotations

import json
import math

import pytest
import torch
from safetensors.torch import save

from app.bench.checkpoint import checkpoint_shapes, safetensors_header, write_random_checkpoint
from app.bench.tts import full_size_config
from app.tts.config import parse_config
from app.tts.model import Dia2Model
from app.tts.shapes import PUBLISHED, SIZES, published_config
from app.tts.weights import load_weights
from tests.conftest import PARITY


def counts(size: str) -> tuple[int, int, int]:
    """(tensors, parameters, file bytes) of the float32 checkpoint of the published shape."""
    shapes = checkpoint_shapes(published_config(size))
    params = sum(math.prod(s) for s in shapes.values())
    return len(shapes), params, 8 + len(safetensors_header(shapes)) + 4 * params


def test_1b_shape_counts_to_the_published_file():
    tensors, params, file_bytes = counts("1b")
    assert tensors == 440
    assert params == 1_076_244_736
    # Header included: names, shapes and offsets as the safetensors library writes them come to
    # the published file's exact size.
    assert file_bytes == PUBLISHED["1b"].weights_bytes == 4_305_028_488


def test_2b_shape_counts_to_the_published_size():
    tensors, params, file_bytes = counts("2b")
    assert tensors == 450
    assert params == 1_919_556_608
    assert round(file_bytes / 1e9, 2) == 7.68  # published as 7.68 GB (rounded)


def test_model_parameters_are_the_checkpoint_tensors():
    """Every parameter is filled by the file (the decoder's audio table by its 32 slices)."""
    with torch.device("meta"):
        model = Dia2Model(parse_config(published_config("1b")))
    assert sum(p.numel() for p in model.parameters()) == counts("1b")[1]


@pytest.mark.parametrize("size", SIZES)
def test_published_values(size):
    raw = published_config(size)
    cfg = parse_config(raw)
    assert cfg.data.text_vocab_size == 49280 and cfg.data.audio_vocab_size == 2050
    assert cfg.data.delay_pattern == (16,) + (18,) * 31 and cfg.data.second_stream_ahead == 2
    assert cfg.norm_eps == 1e-6 and cfg.max_context_steps == 1500
    assert (cfg.rope_min_timescale, cfg.rope_max_timescale) == (1, 10000)
    assert cfg.decoder.low_rank_dim is None and not cfg.depformer.text_embedding
    assert (cfg.decoder.heads, cfg.decoder.kv_heads, cfg.decoder.head_dim) == (16, 8, 128)
    assert (cfg.depformer.heads, cfg.depformer.head_dim, cfg.depformer.n_hidden) == (8, 128, 3072)
    assert len(cfg.weights_schedule) == 31 and cfg.weights_schedule[0] == 0
    assert cfg.weights_schedule == tuple(sorted(cfg.weights_schedule))
    layers = {"1b": (30, 1024, 3, 3), "2b": (28, 2048, 4, 5)}[size]
    assert (cfg.decoder.n_layer, cfg.decoder.n_embd, cfg.depformer.n_layer,
            len(cfg.weight_groups)) == layers
    assert cfg.decoder.n_hidden == 6144 and cfg.depformer.n_embd == 1024
    assert full_size_config(size) == raw  # the benchmark times these shapes
    assert published_config(size) is not published_config(size)  # callers may edit their copy


def test_unknown_size():
    with pytest.raises(ValueError, match="1b, 2b"):
        published_config("3b")


def test_header_is_what_the_safetensors_library_writes():
    shapes = checkpoint_shapes(json.loads((PARITY / "config.json").read_text()))
    data = save({n: torch.zeros(s) for n, s in shapes.items()})
    n = int.from_bytes(data[:8], "little")
    assert data[8 : 8 + n] == safetensors_header(shapes)


def test_written_checkpoint_loads_and_matches_its_header(tmp_path):
    """A small random checkpoint written in chunks smaller than its tensors loads strictly."""
    raw = json.loads((PARITY / "config.json").read_text())
    written = write_random_checkpoint(tmp_path, raw, seed=3, chunk_elements=1000)
    shapes = checkpoint_shapes(raw)
    assert written.tensors == len(shapes)
    assert written.file_bytes == 8 + len(safetensors_header(shapes)) + 4 * written.parameters
    cfg = parse_config(json.loads((tmp_path / "config.json").read_text()))
    model = Dia2Model.empty(cfg, torch.device("cpu"))
    load_weights(model, tmp_path / "model.safetensors")
    tensors = model.checkpoint_tensors()
    norm = tensors["transformer.norm.weight"]
    assert torch.all((norm >= 0.9) & (norm <= 1.1))
    head = tensors["transformer.cb0_head.weight"]  # uniform, variance 1 / fan-in
    assert head.abs().max() <= math.sqrt(3 / head.shape[1]) and head.std() > 0.5 / math.sqrt(head.shape[1])


@pytest.mark.parametrize("size", SIZES)
def test_memory_table_counts_the_same_shapes(size):
    """app/assets/sizes.py (doctor's memory table, no torch there) holds the same counts."""
    from app.assets.sizes import DIA2_SIZES

    table = DIA2_SIZES[PUBLISHED[size].repo_id]
    cfg = parse_config(published_config(size))
    assert table.params == counts(size)[1]
    assert (table.layers, table.kv_heads, table.head_dim) == (
        cfg.decoder.n_layer, cfg.decoder.kv_heads, cfg.decoder.head_dim)
    assert table.context_steps == cfg.max_context_steps + 1
    assert (table.file_bytes, table.file_exact) == (PUBLISHED[size].weights_bytes,
                                                    PUBLISHED[size].exact)
