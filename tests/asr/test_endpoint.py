"""Utterances cut from a stream by voice activity and by push-to-talk."""

from __future__ import annotations

import numpy as np

from app.asr.endpoint import PushToTalk, TurnDetector, Utterance
from app.asr.vad import SpeechStart, StreamingVad
from app.audio.files import read_audio
from app.audio.resample import resample

SR = 16000


def _stream(audio16: np.ndarray, chunk: int = 320):
    audio24 = resample(audio16, SR, 24000)
    for i in range(0, len(audio16), chunk):
        j = i * 3 // 2
        yield audio16[i : i + chunk], audio24[j : j + chunk * 3 // 2], i, j


def test_turn_detector_cuts_one_utterance_with_both_rates(speech_paths):
    speech, _ = read_audio(speech_paths[0], SR)
    lead = SR
    audio = np.concatenate([np.zeros(lead), speech, np.zeros(SR)]).astype(np.float32)
    det = TurnDetector(StreamingVad(), pre_roll_ms=250, post_roll_ms=200)
    events = []
    for a16, a24, s16, s24 in _stream(audio):
        events += det.feed(a16, a24, s16, s24)
    events += det.flush()
    assert [type(e) for e in events] == [SpeechStart, Utterance]
    utt = events[1]
    assert utt.offset == utt.speech_start - 4000  # the pre-roll
    np.testing.assert_array_equal(utt.audio16k, audio[utt.offset : utt.offset + len(utt.audio16k)])
    assert utt.speech_end - utt.speech_start > 0.8 * len(speech)
    assert abs(len(utt.audio24k) - 1.5 * len(utt.audio16k)) <= 2
    # the 24 kHz audio is the same stretch: it resamples to the 16 kHz audio
    back = resample(utt.audio24k, 24000, SR)
    mid = slice(200, min(len(back), len(utt.audio16k)) - 200)
    assert np.max(np.abs(back[mid] - utt.audio16k[mid])) < 0.05


def test_push_to_talk_keeps_exactly_the_pressed_stretch():
    ptt = PushToTalk()
    audio = np.arange(10 * 320, dtype=np.float32)  # each sample names its position
    chunks = [audio[i : i + 320] for i in range(0, len(audio), 320)]
    assert ptt.release() is None
    ptt.feed(chunks[0])
    ptt.feed(chunks[1])
    ptt.press()
    assert ptt.pressed
    for c in chunks[2:7]:
        ptt.feed(c)
    utt = ptt.release()
    for c in chunks[7:]:
        ptt.feed(c)
    assert not ptt.pressed
    np.testing.assert_array_equal(utt.audio16k, audio[640:2240])
    assert (utt.offset, utt.speech_start, utt.speech_end) == (640, 640, 2240)
    assert len(utt.audio24k) == 0  # none was given
