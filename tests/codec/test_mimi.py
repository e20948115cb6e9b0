"""MimiCodec on the demo codec: shapes, streaming decode against batch decode, state handling,
and the errors a caller gets for bad audio or codes."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from app.codec.mimi import MimiCodec
from app.codec.voice import prepare_voice
from app.core import FRAME_SAMPLES
from app.errors import UserError

K = 32


def random_codes(frames: int, seed: int = 0) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return torch.randint(0, 2048, (K, frames), generator=gen)


def noise(samples: int, seed: int = 0) -> np.ndarray:
    return (np.random.default_rng(seed).standard_normal(samples) * 0.1).astype(np.float32)


def test_attributes(demo_codec):
    assert demo_codec.sample_rate == 24000
    assert demo_codec.frame_rate == 12.5
    assert demo_codec.frame_size == FRAME_SAMPLES == 1920
    assert demo_codec.num_codebooks == K
    assert demo_codec.cardinality == 2048


@pytest.mark.parametrize(("samples", "frames"), [(1, 1), (1920, 1), (1921, 2), (30000, 16)])
def test_encode_shape_and_dtype(demo_codec, samples, frames):
    codes = demo_codec.encode(noise(samples))
    assert codes.shape == (K, frames)
    assert codes.dtype == torch.int64
    assert int(codes.min()) >= 0 and int(codes.max()) < 2048


def test_encode_pads_tail_with_silence(demo_codec):
    audio = noise(1920 * 3 + 700)
    padded = np.concatenate([audio, np.zeros(1920 - 700, np.float32)])
    assert torch.equal(demo_codec.encode(audio), demo_codec.encode(padded))


def test_decode_length(demo_codec):
    wav = demo_codec.decode(random_codes(7))
    assert wav.dtype == np.float32 and wav.shape == (7 * FRAME_SAMPLES,)
    assert np.isfinite(wav).all() and np.abs(wav).max() > 0


def test_real_speech_round_trip(demo_codec, speech_file):
    audio = prepare_voice(speech_file)
    codes = demo_codec.encode(audio)
    frames = -(-audio.shape[0] // FRAME_SAMPLES)
    assert codes.shape == (K, frames)
    # Speech changes over time, so the codes do too (a broken encoder gives one code throughout).
    assert len({tuple(codes[:, t].tolist()) for t in range(frames)}) > frames // 2
    assert demo_codec.decode(codes).shape == (frames * FRAME_SAMPLES,)


def test_streaming_decode_matches_batch(demo_codec):
    codes = random_codes(40, seed=1)
    batch = demo_codec.decode(codes)
    dec = demo_codec.stream_decoder()
    frames = [dec.decode_frame(codes[:, t]) for t in range(codes.shape[1])]
    assert all(f.shape == (FRAME_SAMPLES,) and f.dtype == np.float32 for f in frames)
    stream = np.concatenate(frames)
    # Not bit for bit: float32 matrix products over 1 frame and over 40 frames sum in different
    # orders. The difference stays at float32 rounding level (~1e-7 against a peak of ~0.2).
    assert np.abs(stream - batch).max() <= 1e-5 * np.abs(batch).max()
    # The state matters: frames decoded without their past differ from batch by far more.
    cold = np.concatenate(
        [demo_codec.stream_decoder().decode_frame(codes[:, t]) for t in range(codes.shape[1])]
    )
    assert np.abs(cold - batch).max() > 1e-2 * np.abs(batch).max()


def test_reset_restarts_the_stream(demo_codec):
    codes = random_codes(6, seed=2)
    dec = demo_codec.stream_decoder()
    first = [dec.decode_frame(codes[:, t]) for t in range(6)]
    dec.reset()
    assert dec.frames == 0
    again = [dec.decode_frame(codes[:, t]) for t in range(6)]
    for a, b in zip(first, again, strict=True):
        np.testing.assert_array_equal(a, b)


def test_decoders_and_batch_calls_do_not_disturb_each_other(demo_codec):
    codes_a, codes_b = random_codes(8, seed=3), random_codes(8, seed=4)
    alone = demo_codec.stream_decoder()
    ref_a = [alone.decode_frame(codes_a[:, t]) for t in range(8)]
    a, b = demo_codec.stream_decoder(), demo_codec.stream_decoder()
    got_a = []
    for t in range(8):
        got_a.append(a.decode_frame(codes_a[:, t]))
        b.decode_frame(codes_b[:, t])
        demo_codec.encode(noise(3000, seed=t))
        demo_codec.decode(codes_b[:, : t + 1])
    for x, y in zip(ref_a, got_a, strict=True):
        np.testing.assert_array_equal(x, y)


def test_closed_decoder_refuses(demo_codec):
    dec = demo_codec.stream_decoder()
    dec.close()
    with pytest.raises(RuntimeError, match="closed"):
        dec.decode_frame(random_codes(1)[:, 0])


@pytest.mark.parametrize(
    ("audio", "kwargs", "match"),
    [
        (np.zeros((4000, 2), np.float32) + 0.1, {}, "mono"),
        (np.full(4000, 0.1, np.float32), {"sample_rate": 16000}, "24000 Hz"),
        (np.zeros(0, np.float32), {}, "empty"),
        (np.array([0.1, np.nan, 0.2], np.float32), {}, "NaN"),
        (np.array([1000, -1000], np.int16), {}, "float"),
        (np.array([0.5, -3.0], np.float32), {}, "normalise"),
    ],
    ids=["stereo", "16k", "empty", "nan", "int16", "too-loud"],
)
def test_encode_refuses_bad_audio(demo_codec, audio, kwargs, match):
    with pytest.raises(UserError, match=match):
        demo_codec.encode(audio, **kwargs)


def test_encode_accepts_column_vector_and_float64(demo_codec):
    audio = noise(4000)
    ref = demo_codec.encode(audio)
    assert torch.equal(demo_codec.encode(audio[:, None]), ref)
    assert torch.equal(demo_codec.encode(audio.astype(np.float64)), ref)


@pytest.mark.parametrize(
    ("codes", "match"),
    [
        (torch.zeros(8, 3, dtype=torch.long), r"\[K, T\]"),
        (torch.zeros(K, 3), "integers"),
        (torch.full((K, 3), 2048), "map BOS/PAD"),
        (torch.full((K, 3), -1), r"\[0, 2048\)"),
        (torch.zeros(K, 0, dtype=torch.long), "T = 0"),
    ],
    ids=["wrong-k", "float", "too-big", "negative", "no-frames"],
)
def test_decode_refuses_bad_codes(demo_codec, codes, match):
    with pytest.raises(UserError, match=match):
        demo_codec.decode(codes)


def test_decode_frame_refuses_frames_dim(demo_codec):
    with pytest.raises(UserError, match=r"\[K\]"):
        demo_codec.stream_decoder().decode_frame(random_codes(2))


def test_cuda_refused_without_gpu():
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(UserError, match="CUDA"):
        MimiCodec.load(None, device="cuda")


@pytest.mark.gpu
def test_streaming_matches_batch_on_cuda():
    from app.assets.demo_mimi import build_demo_mimi

    codec = build_demo_mimi(0, device="cuda")
    codes = random_codes(20, seed=5)
    batch = codec.decode(codes)
    a, b = codec.stream_decoder(), codec.stream_decoder()  # two states, CUDA graphs in each
    got = []
    for t in range(20):
        got.append(a.decode_frame(codes[:, t]))
        b.decode_frame(codes[:, 19 - t])
    stream = np.concatenate(got)
    assert np.abs(stream - batch).max() <= 1e-4 * np.abs(batch).max()
