"""The demo Mimi: built by moshi's get_mimi, saved in the moshi layout, loaded by MimiCodec.load."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from moshi.models import loaders
from safetensors.torch import load_file

from app.assets.demo_mimi import build_demo_mimi, demo_mimi_config, save_demo_mimi
from app.codec.mimi import MimiCodec
from app.errors import UserError


@pytest.fixture(scope="module")
def demo_file(tmp_path_factory):
    return save_demo_mimi(tmp_path_factory.mktemp("mimi") / "demo.safetensors", seed=0)


def test_config_keeps_the_published_shape():
    demo, full = demo_mimi_config(), loaders._mimi_config
    for key in ("sample_rate", "frame_rate", "channels"):
        assert demo[key] == full[key]
    assert demo["seanet"]["ratios"] == full["seanet"]["ratios"] == [8, 6, 5, 4]
    assert demo["quantizer"]["n_q"] == 32 and demo["quantizer"]["bins"] == 2048
    assert demo["seanet"]["n_filters"] < full["seanet"]["n_filters"]


def test_same_seed_same_weights():
    a, b, c = build_demo_mimi(0), build_demo_mimi(0), build_demo_mimi(1)
    sa, sb, sc = (m.model.state_dict() for m in (a, b, c))
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert not all(torch.equal(sa[k], sc[k]) for k in sa)


def test_saved_file_loads_through_get_mimi(demo_file):
    built = build_demo_mimi(0)
    loaded = MimiCodec.load(demo_file)  # config comes from the file's metadata
    state = load_file(str(demo_file))
    assert set(state) == set(loaded.model.state_dict())
    for key, value in built.model.state_dict().items():
        assert torch.equal(loaded.model.state_dict()[key], value), key
    audio = (np.random.default_rng(5).standard_normal(9000) * 0.1).astype(np.float32)
    codes = loaded.encode(audio)
    assert torch.equal(codes, built.encode(audio))
    assert len({tuple(codes[:, t].tolist()) for t in range(codes.shape[1])}) > 1
    np.testing.assert_array_equal(loaded.decode(codes), built.decode(codes))


def test_fewer_codebooks(demo_file):
    codec = MimiCodec.load(demo_file, num_codebooks=8)
    assert codec.num_codebooks == 8
    assert codec.encode(np.zeros(1920 * 2, np.float32)).shape == (8, 2)


def test_wrong_layout_is_a_user_error(demo_file):
    with pytest.raises(UserError, match="moshi layout"):
        MimiCodec.load(demo_file, config=loaders._mimi_config)


def test_unreadable_files(tmp_path, demo_file):
    with pytest.raises(UserError, match="not found"):
        MimiCodec.load(tmp_path / "absent.safetensors")
    cut = tmp_path / "cut.safetensors"
    cut.write_bytes(demo_file.read_bytes()[:1000])
    with pytest.raises(UserError, match="safetensors"):
        MimiCodec.load(cut)
    with pytest.raises(UserError, match="num_codebooks"):
        MimiCodec.load(demo_file, num_codebooks=33)
