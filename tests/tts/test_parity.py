"""The runtime reproduces the reference Dia2 runtime token for token on the parity fixture."""

from __future__ import annotations

import pytest
import torch

from app.tts import AudioFrame, Dia2Engine, WordEvent
from tests.conftest import PARITY
from tests.tts.helpers import case_options, case_prefix, load_cases

CASES = load_cases(PARITY)


@pytest.fixture(scope="module")
def engine():
    return Dia2Engine.load_folder(PARITY, device="cpu", dtype="float32")


def test_fixture_has_cases():
    assert {c["name"] for c in CASES} >= {"two-speakers", "single-no-cfg", "prefix-reply"}


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_script_token_ids(engine, case):
    ids = [list(e.tokens) for e in engine.parse(case["script"])]
    assert ids == case["expected"]["script_token_ids"]


@pytest.mark.parametrize("prefill", ["batched", "stepwise"])
@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_generate_matches_reference(engine, case, prefill):
    result = engine.generate(case["script"], case_options(case), case_prefix(case), prefill=prefill)
    expected = torch.tensor(case["expected"]["audio_tokens"])
    assert result.audio_tokens.shape == expected.shape
    assert torch.equal(result.audio_tokens, expected)
    got = [(w, round(t, 6)) for w, t in result.timestamps]
    assert got == [(w, t) for w, t in case["expected"]["timestamps"]]


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_stream_word_by_word_matches_reference(engine, case):
    stream = engine.stream(case_options(case), case_prefix(case))
    for word in case["script"].split(" "):
        stream.push_text(word + " ")
    stream.finish()
    frames, words = [], []
    for event in stream:
        if isinstance(event, AudioFrame):
            assert event.index == len(frames)
            frames.append(event.codes)
        else:
            assert isinstance(event, WordEvent)
            words.append((event.word, round(event.start, 6)))
    expected = torch.tensor(case["expected"]["audio_tokens"])
    assert torch.equal(torch.stack(frames, dim=1), expected)
    assert words == [(w, t) for w, t in case["expected"]["timestamps"]]
