"""Checkpoints shaped differently from the official ones load and run exactly: the config decides.

For each shape: strict loading succeeds, streaming equals batch, and the batched prefix prefill
equals the step-by-step warm-up.
"""

from __future__ import annotations

import pytest
import torch

from app.core import Word
from app.tts.engine import Dia2Engine
from app.tts.options import GenerationOptions
from app.tts.prefix import PrefixTurn
from app.tts.stream import AudioFrame
from tests.tts.helpers import variant_checkpoint

VARIANTS = {
    "8-codebooks": {"codebooks": 8},
    "depformer-text-embedding": {"text_embedding": True},
    "depformer-no-rope": {"apply_rope": False},
    "one-weight-group": {"one_group": True},
    "no-second-stream": {"second_stream_ahead": 0},
    "no-low-rank": {"low_rank": False},
}


@pytest.fixture(scope="module", params=list(VARIANTS), ids=list(VARIANTS))
def engine(request, tmp_path_factory):
    folder = variant_checkpoint(tmp_path_factory.mktemp(request.param), **VARIANTS[request.param])
    return Dia2Engine.load_folder(folder, device="cpu", precision="float32")


def _prefix(engine):
    k = engine.config.data.num_codebooks
    g = torch.Generator().manual_seed(1)
    return [PrefixTurn(2, (Word("yes", 0.1, 0.3), Word("please", 0.4, 0.8)), codes=torch.randint(0, 2048, (k, 12), generator=g))]


def test_stream_equals_batch(engine):
    options = GenerationOptions(seed=4, cfg_scale=2.0)
    script = "[S1] Shapes differ, behaviour does not. [S2] Good."
    batch = engine.generate(script, options, _prefix(engine))
    assert batch.audio_tokens.shape[0] == engine.config.data.num_codebooks
    assert [w for w, _ in batch.timestamps][:2] == ["Shapes", "differ,"]
    stream = engine.stream(options, _prefix(engine))
    for piece in script.split(" "):
        stream.push_text(piece + " ")
    stream.finish()
    frames = [e.codes for e in stream if isinstance(e, AudioFrame)]
    assert torch.equal(torch.stack(frames, 1), batch.audio_tokens)


def test_batched_prefill_equals_stepwise_warmup(engine):
    options = GenerationOptions.greedy(cfg_scale=2.0)
    a = engine.generate("[S1] Same either way.", options, _prefix(engine), prefill="batched")
    b = engine.generate("[S1] Same either way.", options, _prefix(engine), prefill="stepwise")
    assert torch.equal(a.audio_tokens, b.audio_tokens)
    assert a.timestamps == b.timestamps
