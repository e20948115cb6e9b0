"""The runtime reproduces the reference Dia2 runtime token for token on both parity fixtures."""

from __future__ import annotations

import pytest
import torch

from app.tts.engine import Dia2Engine
from app.tts.stream import AudioFrame, WordEvent
from tests.conftest import PARITY_FIXTURES
from tests.tts.helpers import case_options, case_prefix, load_cases

CASES = [(name, case) for name, folder in PARITY_FIXTURES.items() for case in load_cases(folder)]
IDS = [f"{name}:{case['name']}" for name, case in CASES]


@pytest.fixture(scope="module")
def engines():
    return {name: Dia2Engine.load_folder(folder, device="cpu", precision="float32")
            for name, folder in PARITY_FIXTURES.items()}


@pytest.mark.parametrize("name", sorted(PARITY_FIXTURES))
def test_fixture_has_cases(name):
    cases = load_cases(PARITY_FIXTURES[name])
    assert {c["name"] for c in cases} >= {"two-speakers", "single-no-cfg", "prefix-reply"}


def test_real_shape_speaker_tags_live_only_in_the_added_tokens():
    """The layout this fixture exists for: tokenizer.json alone has no [S1]/[S2]."""
    import json

    folder = PARITY_FIXTURES["dia2-real-shape"]
    listed = json.loads((folder / "tokenizer.json").read_text())
    contents = {t["content"] for t in listed["added_tokens"]} | set(listed["model"]["vocab"])
    assert "[S1]" not in contents and "[S2]" not in contents
    added = json.loads((folder / "added_tokens.json").read_text())
    assert set(added) == {"[S1]", "[S2]"}


@pytest.mark.parametrize(("name", "case"), CASES, ids=IDS)
def test_script_token_ids(engines, name, case):
    ids = [list(e.tokens) for e in engines[name].parse(case["script"])]
    assert ids == case["expected"]["script_token_ids"]


@pytest.mark.parametrize("prefill", ["batched", "stepwise"])
@pytest.mark.parametrize(("name", "case"), CASES, ids=IDS)
def test_generate_matches_reference(engines, name, case, prefill):
    result = engines[name].generate(case["script"], case_options(case), case_prefix(case),
                                    prefill=prefill)
    expected = torch.tensor(case["expected"]["audio_tokens"])
    assert result.audio_tokens.shape == expected.shape
    assert torch.equal(result.audio_tokens, expected)
    got = [(w, round(t, 6)) for w, t in result.timestamps]
    assert got == [(w, t) for w, t in case["expected"]["timestamps"]]


@pytest.mark.parametrize(("name", "case"), CASES, ids=IDS)
def test_stream_word_by_word_matches_reference(engines, name, case):
    stream = engines[name].stream(case_options(case), case_prefix(case))
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
