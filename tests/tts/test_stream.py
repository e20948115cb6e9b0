"""Streaming: text pushed piece by piece (from another thread) gives the tokens of `generate`,
events arrive before the text is complete, and a stream can be cancelled."""

from __future__ import annotations

import random
import threading

import pytest
import torch

from app.core import Word
from app.tts.engine import Dia2Engine
from app.tts.options import GenerationOptions
from app.tts.prefix import PrefixTurn
from app.tts.stream import AudioFrame, WordEvent

SCRIPT = "[S1] Hello there, how are you doing today? <break time=\"0.4s\"/> [S2] I am fine, thanks."


@pytest.fixture(scope="module")
def engine(demo_dia2):
    return Dia2Engine.load_folder(demo_dia2, device="cpu", precision="float32")


def _collect(stream):
    frames, words = [], []
    for event in stream:
        if isinstance(event, AudioFrame):
            frames.append(event.codes)
        else:
            words.append((event.word, event.start))
    return (torch.stack(frames, dim=1) if frames else torch.zeros(0)), words


@pytest.mark.parametrize("seed", [3, 11])
def test_random_pieces_from_a_thread_equal_batch(engine, seed):
    options = GenerationOptions(seed=seed)  # sampling on, guidance on
    batch = engine.generate(SCRIPT, options)
    rng = random.Random(seed)
    pieces, i = [], 0
    while i < len(SCRIPT):  # cut anywhere, also inside words and tags
        j = min(len(SCRIPT), i + rng.randint(1, 7))
        pieces.append(SCRIPT[i:j])
        i = j
    stream = engine.stream(options)

    def produce():
        for piece in pieces:
            stream.push_text(piece)
        stream.finish()

    producer = threading.Thread(target=produce)
    producer.start()
    codes, words = _collect(stream)
    producer.join()
    assert torch.equal(codes, batch.audio_tokens)
    assert words == batch.timestamps


def test_stream_with_prefix_equals_batch(engine):
    k = engine.config.data.num_codebooks
    g = torch.Generator().manual_seed(0)
    prefix = [
        PrefixTurn(1, (Word("hello", 0.1, 0.4), Word("friend", 0.5, 0.9)), codes=torch.randint(0, 2048, (k, 14), generator=g)),
        PrefixTurn(2, (Word("hi", 0.1, 0.3),), codes=torch.randint(0, 2048, (k, 8), generator=g)),
    ]
    options = GenerationOptions(seed=5, cfg_scale=3.0)
    batch = engine.generate("[S1] Nice to see you again.", options, prefix)
    stream = engine.stream(options, prefix)
    for word in "[S1] Nice to see you again.".split():
        stream.push_text(word + " ")
    stream.finish()
    codes, words = _collect(stream)
    assert torch.equal(codes, batch.audio_tokens)
    assert words == batch.timestamps
    assert [w for w, _ in words] == ["Nice", "to", "see", "you", "again."]


def test_events_flow_before_the_text_is_complete(engine):
    stream = engine.stream(GenerationOptions(seed=1))
    stream.push_text("[S1] One two three four five six seven ")
    got = []
    for event in stream:
        got.append(event)
        if sum(isinstance(e, AudioFrame) for e in got) >= 3:
            break
    # Audio and the first word arrived although finish() was never called.
    assert any(isinstance(e, WordEvent) and e.word == "One" for e in got)
    frames = [e for e in got if isinstance(e, AudioFrame)]
    assert [f.index for f in frames] == [0, 1, 2]
    assert all(f.codes.shape == (engine.config.data.num_codebooks,) for f in frames)


def test_cancel_from_another_thread_ends_iteration(engine):
    stream = engine.stream(GenerationOptions(seed=2))
    stream.push_text("[S1] " + "word " * 40)
    stream.finish()
    count = 0
    for event in stream:
        if isinstance(event, AudioFrame):
            count += 1
            if count == 4:
                threading.Thread(target=stream.cancel).start()
    assert stream.cancelled
    assert 4 <= count < 40  # stopped long before the 40 words were spoken


def test_waiting_stream_wakes_on_cancel(engine):
    stream = engine.stream(GenerationOptions(seed=2))
    stream.push_text("[S1] Hi")  # one word: the stream waits for more text
    timer = threading.Timer(0.5, stream.cancel)
    timer.start()
    events = list(stream)
    timer.join()
    assert events == []


def test_seed_repeats_and_differs(engine):
    a = engine.generate("[S1] Same seed, same sound.", GenerationOptions(seed=7))
    b = engine.generate("[S1] Same seed, same sound.", GenerationOptions(seed=7))
    c = engine.generate("[S1] Same seed, same sound.", GenerationOptions(seed=8))
    assert a.seed == 7
    assert torch.equal(a.audio_tokens, b.audio_tokens)
    assert not torch.equal(a.audio_tokens[:, : c.audio_tokens.shape[1]], c.audio_tokens[:, : a.audio_tokens.shape[1]])
