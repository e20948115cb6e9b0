"""The echo canceller (WebRTC AEC3 through livekit) on real speech in simulated rooms, the rooms
themselves, and the pieces that build the canceller's reference from the playback clock."""

from __future__ import annotations

import numpy as np
import pytest

from app.audio.clock import BlockClock
from app.audio.echo import AEC_FRAME, EchoCanceller, EchoConfig
from app.audio.files import read_audio
from app.bench.room import ROOMS, Room, StreamingRoom, echo_of, impulse_response
from app.conversation.bargein import PlayedHistory
from app.errors import UserError

RATE = 24000


def _speech(paths, i, seconds):
    x, _ = read_audio(paths[i], RATE)
    x = x / np.sqrt(np.mean(x**2)) * 0.1
    reps = int(np.ceil(seconds * RATE / len(x)))
    return np.clip(np.tile(x, reps)[: int(seconds * RATE)], -1, 1).astype(np.float32)


def _cancel(mic, ref, config: EchoConfig | None = None, sizes=(480,)):
    aec = EchoCanceller(config or EchoConfig())
    out, i, k = [], 0, 0
    while i < len(mic):
        n = sizes[k % len(sizes)]
        out.append(aec.process(mic[i:i + n], ref[i:i + n]))
        i, k = i + n, k + 1
    y = np.concatenate(out)
    assert len(y) == len(mic)
    return y[aec.latency:], aec


def _db(a, b):
    return 10 * np.log10(np.sum(a.astype(np.float64) ** 2) / np.sum(b.astype(np.float64) ** 2))


def test_aec3_removes_a_reverberant_echo_and_keeps_the_person(speech_paths):
    played = _speech(speech_paths, 0, 20)
    room = ROOMS["reverberant"]
    echo = echo_of(played, room, seed=1)
    lead = EchoConfig().lead_ms * RATE // 1000
    ref = np.concatenate([played[lead:], np.zeros(lead, np.float32)])  # a little ahead, as live
    out, aec = _cancel(echo, ref, sizes=(480, 437, 523, 240))  # odd chunk sizes, as the reader's
    assert aec.frames == len(echo) // AEC_FRAME
    late = slice(10 * RATE, len(out))
    assert _db(echo[late], out[late]) > 20  # the echo is down by more than 20 dB once converged
    # the person alone (no playback) passes: the canceller does not touch what it has no echo of
    person = _speech(speech_paths, 1, 4)
    passed, _ = _cancel(person, np.zeros_like(person))
    assert abs(_db(person[: len(passed)], passed)) < 3


def test_without_a_reference_nothing_is_cancelled_and_the_reference_must_match(speech_paths):
    played = _speech(speech_paths, 0, 6)
    echo = echo_of(played, ROOMS["office"], seed=2)
    out, _ = _cancel(echo, np.zeros_like(echo))  # a wrong (silent) reference cancels nothing
    assert abs(_db(echo[RATE:len(out)], out[RATE:])) < 3
    with pytest.raises(ValueError):
        EchoCanceller().process(np.zeros(480, np.float32), np.zeros(479, np.float32))
    with pytest.raises(UserError):
        EchoConfig(canceller="speex")


def test_the_streaming_room_equals_the_whole_signal_room():
    rng = np.random.default_rng(0)
    x = (0.1 * rng.standard_normal(3 * RATE)).astype(np.float32)
    room = Room("t", rt60_s=0.5, drr_db=0.0, delay_ms=25.0, clip_drive=2.0)
    whole = echo_of(x, room, seed=3)
    live = StreamingRoom(room, seed=3)
    parts, i = [], 0
    while i < len(x):
        n = int(rng.integers(1, 900))
        parts.append(live.process(x[i:i + n]))
        i += n
    assert np.abs(np.concatenate(parts) - whole).max() < 1e-5
    h = impulse_response(ROOMS["reverberant"], seed=0)
    assert abs(np.sum(h * h) - 1) < 1e-9 and len(h) == int(0.9 * RATE)
    assert np.array_equal(h, impulse_response(ROOMS["reverberant"], seed=0))  # seeded


def test_a_drifting_delay_moves_the_echo_by_20_ms_a_minute():
    x = np.zeros(61 * RATE, np.float32)
    for s in (1, 59):
        x[s * RATE] = 1.0
    y = echo_of(x, Room("drift", delay_ms=30.0, drift_ms=20.0, echo_db=0.0), seed=0)
    early = np.argmax(np.abs(y[: 2 * RATE])) - RATE
    late = np.argmax(np.abs(y[58 * RATE: 60 * RATE])) + 58 * RATE - 59 * RATE
    assert abs(early / RATE * 1000 - 30.3) < 0.5 and abs(late / RATE * 1000 - 49.7) < 0.5


def test_clock_positions_match_position_one_by_one():
    clock = BlockClock(RATE, 64)
    pos = 0
    for b in range(20):
        k = 0 if b in (7, 8) else 480  # two held blocks: the position stands
        clock.record(pos, k, 1.0 + b * 0.02)
        pos += k
    times = np.linspace(0.99, 1.45, 300)
    assert np.allclose(clock.positions(times), [clock.position(t) for t in times])


def test_played_history_at_gives_samples_and_silence_outside():
    h = PlayedHistory(seconds=0.1)  # 2400 samples
    h.add(0, np.arange(3000, dtype=np.float32))
    got = h.at(np.array([-5, 0, 599, 600, 2999, 3000]))
    assert got.tolist() == [0.0, 0.0, 0.0, 600.0, 2999.0, 0.0]


def test_headphones_or_the_spectral_setting_switch_the_canceller_off():
    from app.conversation.live import LiveConfig, LiveSession

    def cancelling(**config):
        return LiveSession(None, None, LiveConfig(**config)).cancelling

    assert cancelling()  # the default: WebRTC's canceller on the microphone
    assert not cancelling(headphones=True)
    assert not cancelling(echo=EchoConfig(canceller="spectral"))
    assert EchoConfig().noise_suppression  # the bench's choice (docs/benchmarks.md)
