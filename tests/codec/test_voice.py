"""prepare_voice on real files: conversion of what can be converted, clear refusal of the rest."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
import soxr

from app.codec.voice import prepare_voice
from app.core import SAMPLE_RATE
from app.errors import UserError


def test_real_recording(speech_file):
    audio = prepare_voice(speech_file)
    info = sf.info(str(speech_file))
    assert audio.dtype == np.float32 and audio.ndim == 1
    assert audio.shape[0] == pytest.approx(info.duration * SAMPLE_RATE, abs=2)
    assert 0.05 < np.abs(audio).max() <= 1.0


def test_stereo_44k_becomes_mono_24k(speech_file, tmp_path):
    speech, rate = sf.read(str(speech_file), dtype="float32")
    at44 = soxr.resample(speech, rate, 44100).astype(np.float32)
    stereo = np.stack([at44, 0.5 * at44], axis=1)  # left and right at different levels
    path = tmp_path / "stereo.flac"
    sf.write(str(path), stereo, 44100)
    audio = prepare_voice(path)
    assert audio.ndim == 1 and audio.dtype == np.float32
    assert audio.shape[0] == pytest.approx(at44.shape[0] * SAMPLE_RATE / 44100, abs=2)
    # The mix-down is the mean of the channels, then resampled back to 24 kHz.
    expected = soxr.resample(0.75 * at44, 44100, SAMPLE_RATE)
    n = min(len(expected), len(audio))
    assert np.abs(audio[:n] - expected[:n]).max() < 0.01


def test_too_loud_float_file_is_scaled_down(tmp_path):
    path = tmp_path / "loud.wav"
    t = np.arange(SAMPLE_RATE) / SAMPLE_RATE
    sf.write(str(path), (2.0 * np.sin(2 * np.pi * 220 * t)).astype(np.float32), SAMPLE_RATE,
             subtype="FLOAT")
    audio = prepare_voice(path)
    assert np.abs(audio).max() == pytest.approx(1.0, abs=1e-6)


def write(path, samples, rate=SAMPLE_RATE):
    sf.write(str(path), np.asarray(samples, dtype=np.float32), rate)
    return path


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda p: p, "not found"),
        (lambda p: (p.write_text("this is not audio"), p)[1], "not an audio file"),
        (lambda p: write(p, np.zeros(0)), "no audio samples"),
        (lambda p: write(p, np.zeros(SAMPLE_RATE * 2)), "silent"),
        (lambda p: write(p, 0.2 * np.ones(500)), "ms long"),
    ],
    ids=["missing", "text", "empty", "silent", "too-short"],
)
def test_refusals(tmp_path, make, match):
    path = make(tmp_path / "voice.wav")
    with pytest.raises(UserError, match=match):
        prepare_voice(path)
