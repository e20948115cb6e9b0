"""Resampling (whole and streamed) and audio files (reading any format, atomic writes)."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from app.audio.files import read_audio, write_audio
from app.audio.resample import StreamResampler, resample
from app.errors import UserError


def _tone(freq: float, rate: int, seconds: float = 1.0) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    return (0.5 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def _peak_hz(x: np.ndarray, rate: int) -> float:
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(np.argmax(spec) * rate / len(x))


@pytest.mark.parametrize("src,dst", [(48000, 16000), (44100, 24000), (16000, 24000)])
def test_resample_keeps_pitch_and_length(src, dst):
    y = resample(_tone(440.0, src), src, dst)
    assert y.dtype == np.float32
    assert abs(len(y) - dst) <= 1
    assert abs(_peak_hz(y, dst) - 440.0) < 2.0


def test_stream_resampler_matches_whole_signal():
    x = np.random.default_rng(0).uniform(-0.5, 0.5, 48000).astype(np.float32)
    rs = StreamResampler(48000, 16000)
    sizes = np.random.default_rng(1).integers(1, 2000, 200)
    parts, i = [], 0
    for n in sizes:
        parts.append(rs.process(x[i : i + n]))
        i += n
        if i >= len(x):
            break
    parts.append(rs.process(x[i:]))
    parts.append(rs.flush())
    np.testing.assert_allclose(np.concatenate(parts), resample(x, 48000, 16000), atol=1e-6)


def test_resample_drops_content_above_new_nyquist():
    y = resample(_tone(7000.0, 48000), 48000, 8000)  # 7 kHz cannot exist at 8 kHz
    assert np.sqrt(np.mean(y[200:-200] ** 2)) < 0.01


@pytest.mark.parametrize("ext", ["wav", "flac", "ogg", "mp3"])
def test_read_formats_as_mono_at_requested_rate(tmp_path, ext):
    tone = _tone(300.0, 22050)
    stereo = np.stack([tone, tone], axis=1)
    path = tmp_path / f"tone.{ext}"
    sf.write(path, stereo, 22050)
    mono, rate = read_audio(path)
    assert rate == 22050 and mono.ndim == 1 and mono.dtype == np.float32
    at16, rate16 = read_audio(path, rate=16000)
    assert rate16 == 16000
    assert abs(len(at16) - len(mono) * 16000 / 22050) < 0.02 * 16000  # codecs may pad
    assert abs(_peak_hz(at16, 16000) - 300.0) < 3.0


def test_read_errors_are_user_errors(tmp_path):
    with pytest.raises(UserError, match="no such file"):
        read_audio(tmp_path / "missing.wav")
    with pytest.raises(UserError, match="not a file"):
        read_audio(tmp_path)
    junk = tmp_path / "junk.wav"
    junk.write_bytes(b"this is not audio at all" * 10)
    with pytest.raises(UserError, match="cannot read"):
        read_audio(junk)


def test_write_roundtrip_and_atomic_replace(tmp_path):
    path = tmp_path / "out" / "clip.wav"
    x = _tone(200.0, 24000, 0.5)
    write_audio(path, x, 24000, subtype="FLOAT")
    y, rate = read_audio(path)
    assert rate == 24000
    np.testing.assert_array_equal(y, x)
    # a failing write leaves the old file as it was and no temporary file behind
    with pytest.raises(ValueError):  # libsndfile: invalid subtype
        write_audio(path, np.zeros(10, np.float32), 24000, subtype="NO_SUCH_SUBTYPE")
    np.testing.assert_array_equal(read_audio(path)[0], x)
    assert sorted(p.name for p in path.parent.iterdir()) == ["clip.wav"]


def test_write_rejects_unknown_extension(tmp_path):
    with pytest.raises(UserError, match="unknown audio file type"):
        write_audio(tmp_path / "clip.xyz", np.zeros(10, np.float32), 16000)
