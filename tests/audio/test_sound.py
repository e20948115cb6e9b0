"""Real audio through a virtual sound card: PulseAudio null sinks reached through PortAudio.

- speech played (by paplay) into the `mic` sink is captured from its monitor, and voice activity
  finds it where it landed;
- what the playback path plays into the `spk` sink is recorded from its monitor: every sample
  arrives, in order, when the playback clock says it is heard; flush() cuts it with a fade.
"""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from app.asr.endpoint import TurnDetector, Utterance
from app.asr.vad import SpeechStart, StreamingVad, detect_speech
from app.audio.capture import Capture, CaptureConfig
from app.audio.files import read_audio, write_audio
from app.audio.playback import Playback, PlaybackConfig
from app.audio.resample import resample
from app.core import FRAME_SAMPLES
from tests.audio.pulse import PORTAUDIO_DEVICE, SINK_RATE

pytestmark = pytest.mark.sound

RATE = 24000
CLOCK_TOLERANCE_S = 0.03  # capture and playback stamp blocks; a block is 20 ms


def _find(haystack: np.ndarray, needle: np.ndarray) -> int:
    """Lag where `needle` best matches inside `haystack` (FFT cross-correlation)."""
    n = len(haystack) + len(needle)
    size = 1 << (n - 1).bit_length()
    corr = np.fft.irfft(np.fft.rfft(haystack, size) * np.conj(np.fft.rfft(needle, size)), size)
    return int(np.argmax(corr[: len(haystack) - len(needle) + 1]))


def _frames(x: np.ndarray):
    for i in range(0, len(x), FRAME_SAMPLES):
        yield x[i : i + FRAME_SAMPLES]


def _record(pulse_server, monkeypatch, source: str):
    chunks: list = []
    pulse_server.route(monkeypatch, source=source)
    cap = Capture(
        CaptureConfig(device=PORTAUDIO_DEVICE, samplerate=SINK_RATE), on_chunk=chunks.append
    )
    return cap, chunks


def test_capture_and_vad_find_played_speech_where_it_lands(
    pulse_server, monkeypatch, speech_paths, tmp_path
):
    speech, _ = read_audio(speech_paths[0], RATE)
    clip = np.concatenate([np.zeros(RATE // 4), speech, np.zeros(RATE)]).astype(np.float32)
    path = write_audio(tmp_path / "clip.wav", clip, RATE, subtype="FLOAT")

    events: list = []
    chunks: list = []
    detector = TurnDetector(StreamingVad())
    done = threading.Event()

    def consume(chunk) -> None:
        chunks.append(chunk)
        for ev in detector.feed_chunk(chunk):
            events.append(ev)
            if isinstance(ev, Utterance):
                done.set()

    pulse_server.route(monkeypatch, source=f"{pulse_server.mic}.monitor")
    with Capture(
        CaptureConfig(device=PORTAUDIO_DEVICE, samplerate=SINK_RATE), on_chunk=consume
    ) as cap:
        time.sleep(0.4)  # some room tone before the speech
        player = pulse_server.paplay(path, pulse_server.mic)
        assert player.wait(timeout=30) == 0, player.stderr.read()
        assert done.wait(timeout=10), "no end of turn detected"
    assert cap.overruns == 0

    rec24 = np.concatenate([c.samples for c in chunks])
    rec16 = np.concatenate([c.at(16000) for c in chunks])
    first = int(np.nonzero(clip)[0][0])  # where the speech begins in the clip
    lag24 = _find(rec24, clip[first:]) - first  # where the clip's sample 0 lies in the capture
    # the speech arrived whole and unchanged (float32 sink at the capture rate)
    np.testing.assert_array_equal(rec24[lag24 + first : lag24 + len(clip)], clip[first:])
    clip16 = resample(clip, RATE, 16000)
    lag16 = round(lag24 * 16000 / RATE)
    expected = detect_speech(clip16)
    assert expected, "the offline detector finds no speech in the clip"
    exp_start, exp_end = expected[0][0] + lag16, expected[-1][1] + lag16
    kinds = [type(e) for e in events]
    assert kinds == [SpeechStart, Utterance], kinds
    utt = events[1]
    tol = int(0.15 * 16000)
    assert abs(events[0].start - exp_start) <= tol
    assert abs(utt.speech_start - exp_start) <= tol
    assert abs(utt.speech_end - exp_end) <= tol
    # the utterance's audio is the captured stretch, at both rates
    np.testing.assert_array_equal(utt.audio16k, rec16[utt.offset : utt.offset + len(utt.audio16k)])
    assert abs(len(utt.audio24k) - 1.5 * len(utt.audio16k)) <= 2


@pytest.fixture
def speaker(pulse_server, monkeypatch):
    """Playback into the `spk` sink and a capture of its monitor, both running."""
    pulse_server.route(monkeypatch, sink=pulse_server.spk)
    cap, chunks = _record(pulse_server, monkeypatch, f"{pulse_server.spk}.monitor")
    with cap, Playback(PlaybackConfig(device=PORTAUDIO_DEVICE, samplerate=RATE)) as pb:
        time.sleep(0.3)  # let both streams settle
        yield pb, cap, chunks


def _recording(chunks) -> np.ndarray:
    return np.concatenate([c.samples for c in chunks])


def test_playback_arrives_complete_in_order_when_the_clock_says(speaker):
    pb, cap, chunks = speaker
    signal = np.random.default_rng(7).uniform(-0.5, 0.5, 2 * RATE).astype(np.float32)
    start = pb.pushed
    pb.feed(_frames(signal))
    assert pb.wait(timeout=30)
    marks = [0, 1000, RATE, len(signal) - 1]
    claimed = {m: pb.time_of(start + m) for m in marks}
    time.sleep(0.3)
    rec = _recording(chunks)

    ramp = len(pb._fade_in)
    hits = np.nonzero(rec == signal[500])[0]  # random floats: an exact match is the spot
    assert len(hits) == 1
    on = int(hits[0]) - 500
    got = rec[on : on + len(signal)]
    np.testing.assert_array_equal(got[ramp:], signal[ramp:])  # complete and in order
    np.testing.assert_allclose(got[:ramp], signal[:ramp] * pb._fade_in, atol=1e-6)  # fade-in
    assert pb.position() == pytest.approx(start + len(signal), abs=1)
    for m in marks:
        assert claimed[m] is not None
        heard = cap.time_of(on + m)
        assert abs(heard - claimed[m]) < CLOCK_TOLERANCE_S, (m, heard, claimed[m])


def test_flush_fades_out_and_drops_the_queue(speaker):
    pb, cap, chunks = speaker
    tone = np.random.default_rng(5).uniform(-0.5, 0.5, 4 * RATE).astype(np.float32)
    start = pb.pushed
    pb.feed(_frames(tone))
    deadline = time.monotonic() + 10
    while pb.position() < start + RATE and time.monotonic() < deadline:
        time.sleep(0.01)
    pb.flush()
    stopped_at = pb.position()  # heard when flush() returned
    assert pb.ring.available() == 0  # the queue is gone
    time.sleep(0.4)
    after = pb.pushed
    noise = np.random.default_rng(3).uniform(-0.3, 0.3, RATE // 2).astype(np.float32)
    pb.write(noise, more=False)
    assert pb.wait(timeout=10)
    time.sleep(0.3)
    rec = _recording(chunks)

    hits = np.nonzero(rec == tone[2000])[0]
    assert len(hits) == 1
    on = int(hits[0]) - 2000
    hits = np.nonzero(rec == noise[300])[0]
    assert len(hits) == 1
    non = int(hits[0]) - 300
    between = rec[on:non]
    ramp = len(pb._fade_out)
    n = min(len(between), len(tone))
    cut = ramp + int(np.nonzero(between[ramp:n] != tone[ramp:n])[0][0])  # where the fade begins
    assert RATE <= cut < len(tone) - RATE  # cut well before the end
    np.testing.assert_allclose(
        between[cut : cut + ramp], tone[cut : cut + ramp] * pb._fade_out, atol=1e-6
    )  # a fade, not a click
    assert np.all(between[cut + ramp :] == 0)  # then silence: the queued rest never plays
    heard_tone = cut + ramp
    # what still played after flush() returned: at most the device's latency, one callback
    # period and the ramp (plus a period of slack for the block boundaries)
    limit = (pb.latency + 2 * pb.config.block_ms / 1000) * RATE + ramp
    assert 0 <= heard_tone - (stopped_at - start) <= limit
    # the clock knows the last tone sample was handed over, and the next one never was
    assert pb.time_of(start + heard_tone - 1) is not None
    assert pb.time_of(start + heard_tone + 1) is None
    # the audio written after the flush plays whole
    np.testing.assert_array_equal(rec[non + ramp : non + len(noise)], noise[ramp:])
    assert after + len(noise) == pb.pushed


def test_underruns_are_counted_only_while_audio_is_expected(speaker):
    pb, _cap, _chunks = speaker
    before = pb.underrun_events
    pb.write(np.full(RATE // 10, 0.1, dtype=np.float32), more=True)  # more promised...
    time.sleep(0.6)  # ...but never comes
    assert pb.underrun_events > before
    assert pb.underrun_samples > 0
    pb.end()
    settled = pb.underrun_events
    time.sleep(0.3)
    assert pb.underrun_events == settled


def test_pause_holds_the_audio_and_resume_plays_all_of_it(speaker):
    """A hold (barge-in suspected) silences the speaker without losing what was queued; a flush
    after a hold plays nothing more (no fade-out blip of the held audio)."""
    pb, cap, chunks = speaker
    signal = np.random.default_rng(3).uniform(-0.5, 0.5, 2 * RATE).astype(np.float32)
    pb.feed(_frames(signal))
    time.sleep(0.6)
    pb.pause()
    time.sleep(0.3)  # (what the device had already buffered still plays)
    held_at = pb.position()
    time.sleep(0.4)
    assert pb.position() == pytest.approx(held_at, abs=1)  # the playhead stands while held
    n_held = sum(len(c.samples) for c in chunks)
    time.sleep(0.2)
    pb.resume()
    assert pb.wait(timeout=30)
    time.sleep(0.3)
    rec = _recording(chunks)
    loud = np.abs(rec) > 1e-4
    # a silent stretch of at least 0.3 s while held, and every sample played in the end
    run, best = 0, 0
    for v in loud[: n_held + RATE // 5]:
        run = 0 if v else run + 1
        best = max(best, run)
    assert best >= 0.3 * RATE
    ramp = len(pb._fade_in)
    assert loud.sum() >= len(signal) - 4 * ramp
    # flushing while held: nothing of the held audio reaches the speaker
    pb.feed(_frames(signal))
    time.sleep(0.3)
    pb.pause()
    time.sleep(0.3)
    mark = sum(len(c.samples) for c in chunks)
    pb.flush()
    pb.resume()
    time.sleep(0.5)
    assert np.abs(_recording(chunks)[mark:]).max() <= 1e-4
