"""Voice activity on real speech, silence and noise; streaming equals whole-signal scoring."""

from __future__ import annotations

import numpy as np
import pytest

from app.asr.vad import (
    WINDOW,
    SileroVad,
    SpeechEnd,
    SpeechStart,
    StreamingVad,
    VadConfig,
    detect_speech,
)
from app.audio.files import read_audio

SR = 16000


@pytest.fixture(scope="module")
def model():
    return SileroVad()


def _loud_span(audio: np.ndarray) -> tuple[int, int, np.ndarray]:
    """First and last sample of 20 ms frames within 25 dB of the loudest: where speech is."""
    frames = audio[: len(audio) // 320 * 320].reshape(-1, 320)
    rms = np.sqrt(np.mean(frames**2, axis=1))
    loud = np.nonzero(rms > rms.max() * 10 ** (-25 / 20))[0]
    return int(loud[0] * 320), int(loud[-1] * 320 + 320), loud


def test_speech_is_covered(model, speech_paths):
    for path in speech_paths:
        audio, _ = read_audio(path, SR)
        padded = np.concatenate([np.zeros(SR), audio, np.zeros(SR)]).astype(np.float32)
        segments = detect_speech(padded, model=model)
        assert segments, f"no speech found in {path.name}"
        first, last, loud = _loud_span(audio)
        covered = np.zeros(len(padded), bool)
        for s, e in segments:
            covered[s:e] = True
        frames = SR + loud * 320 + 160  # centres of the loud frames, in the padded signal
        assert covered[frames].mean() >= 0.95, path.name
        # and nothing far outside the speech
        assert segments[0][0] >= SR + first - int(0.3 * SR)
        assert segments[-1][1] <= SR + last + int(0.3 * SR)


def test_silence_and_noise_yield_nothing(model):
    rng = np.random.default_rng(0)
    assert detect_speech(np.zeros(5 * SR, np.float32), model=model) == []
    white = (rng.standard_normal(5 * SR) * 0.1).astype(np.float32)
    assert detect_speech(white, model=model) == []
    hum = (0.3 * np.sin(2 * np.pi * 50 * np.arange(5 * SR) / SR)).astype(np.float32)
    assert detect_speech(hum, model=model) == []


def test_streaming_scores_equal_whole_scores(model, speech_paths):
    audio, _ = read_audio(speech_paths[0], SR)
    audio = audio[: len(audio) // WINDOW * WINDOW]
    model.reset()
    whole = model(audio)
    model.reset()
    parts = [model(audio[i : i + 3 * WINDOW]) for i in range(0, len(audio), 3 * WINDOW)]
    np.testing.assert_allclose(np.concatenate(parts), whole, atol=1e-6)


def test_events_do_not_depend_on_chunking(model, speech_paths):
    audio, _ = read_audio(speech_paths[-1], SR)
    padded = np.concatenate([np.zeros(SR // 2), audio, np.zeros(SR)]).astype(np.float32)
    vad = StreamingVad(model=model)
    whole = vad.feed(padded) + vad.flush()
    vad.reset()
    rng = np.random.default_rng(4)
    pieces, i = [], 0
    while i < len(padded):
        n = int(rng.integers(1, 1500))
        pieces += vad.feed(padded[i : i + n])
        i += n
    pieces += vad.flush()
    assert pieces == whole
    assert [type(e) for e in whole] == [SpeechStart, SpeechEnd]
    assert whole[0].start == whole[1].start


def test_end_of_turn_silence_is_configurable(model, speech_paths):
    audio, _ = read_audio(speech_paths[0], SR)
    gap = np.zeros(int(0.9 * SR), np.float32)
    two = np.concatenate([audio, gap, audio, np.zeros(SR, np.float32)])
    short = detect_speech(two, VadConfig(end_silence_ms=500), model=model)
    long_ = detect_speech(two, VadConfig(end_silence_ms=1500), model=model)
    assert len(short) == 2 and len(long_) == 1
    assert long_[0][0] == short[0][0] and long_[0][1] == short[1][1]


def test_short_sounds_are_not_speech(model, speech_paths):
    audio, _ = read_audio(speech_paths[0], SR)
    first, _, _ = _loud_span(audio)
    blip = audio[first : first + int(0.12 * SR)]  # 120 ms of real speech
    padded = np.concatenate([np.zeros(SR), blip, np.zeros(SR)]).astype(np.float32)
    assert detect_speech(padded, VadConfig(min_speech_ms=400), model=model) == []
