"""Recognition with the real Whisper base (from its packages): the words are right, and so are
their times.

Word error rate is measured against known text (tests/asr/wer.py): the shared recordings, and
espeak-ng speech of fixed sentences. Word times must lie inside the audio, increase, and each
word's middle must be within 0.3 s of speech as the voice-activity detector finds it.
"""

from __future__ import annotations

import numpy as np
import pytest

from app.asr.recognizer import Recognizer
from app.asr.vad import VadConfig, detect_speech
from app.audio.files import read_audio
from tests.asr.wer import errors, wer
from tests.audio.speech import ESPEAK_SENTENCES, KNOWN_TEXT, SHARED_AUDIO, espeak

SR = 16000
MAX_WER = 0.15
NEAR_SPEECH_S = 0.3
# finer speech stretches than a turn detector's (which bridges half-second pauses)
VAD = VadConfig(min_speech_ms=60, end_silence_ms=100)


@pytest.fixture(scope="module")
def whisper_base(demo_root) -> Recognizer:
    from app.assets.packaged import packaged_asr_config

    rec = Recognizer(packaged_asr_config(demo_root))
    rec.load()
    return rec


@pytest.fixture(scope="module")
def shared_recordings() -> list[tuple[str, np.ndarray]]:
    found = [(KNOWN_TEXT[name], SHARED_AUDIO / name) for name in KNOWN_TEXT
             if (SHARED_AUDIO / name).is_file()]
    if not found:
        pytest.skip("the shared recordings (../shared/audio) are not here; espeak-ng speech is "
                    "tested instead")
    return [(text, read_audio(path, SR)[0]) for text, path in found]


@pytest.fixture(scope="module")
def espeak_speech(tmp_path_factory) -> list[tuple[str, np.ndarray]]:
    folder = tmp_path_factory.mktemp("espeak")
    return [(text, read_audio(espeak(text, folder / f"s{i}.wav"), SR)[0])
            for i, text in enumerate(ESPEAK_SENTENCES)]


def _check_times(words, audio: np.ndarray) -> None:
    duration = len(audio) / SR
    speech = [(a / SR, b / SR) for a, b in detect_speech(audio, VAD)]
    assert speech, "the voice-activity detector found no speech"
    starts = [w.start for w in words]
    assert starts == sorted(starts), "word starts must increase"
    for prev, nxt in zip(words, words[1:], strict=False):
        assert prev.end <= nxt.start + 0.02, f"{prev} overlaps {nxt}"
    for w in words:
        assert 0.0 <= w.start <= w.end <= duration + 0.02, f"{w} lies outside the audio"
        middle = (w.start + w.end) / 2
        gap = min(max(a - middle, middle - b, 0.0) for a, b in speech)
        assert gap <= NEAR_SPEECH_S, f"{w.text!r} at {middle:.2f} s is {gap:.2f} s from speech {speech}"


def _recognise(rec: Recognizer, items):
    results = []
    for text, audio in items:
        words = rec.transcribe(audio)
        heard = " ".join(w.text for w in words)
        print(f"known: {text}\nheard: {heard}\nerrors: {errors(text, heard)}")
        _check_times(words, audio)
        results.append((text, heard))
    return results


def test_shared_recordings_are_recognised(whisper_base, shared_recordings):
    results = _recognise(whisper_base, shared_recordings)
    for text, heard in results:
        assert wer([(text, heard)]) <= MAX_WER, f"{heard!r} is too far from {text!r}"


def test_espeak_speech_of_known_text_is_recognised(whisper_base, espeak_speech):
    results = _recognise(whisper_base, espeak_speech)
    rate = wer(results)
    print(f"word error rate over {len(results)} sentences: {rate:.1%}")
    assert rate <= MAX_WER


def test_word_times_follow_the_speech_when_it_moves(whisper_base, espeak_speech):
    """The same sentence after 1.5 s of silence: its words move with it. (Whisper stretches the
    first word's start back into the silence before it, by up to half a second here, so the
    first word's middle and the last word's end are compared.)"""
    text, audio = espeak_speech[4]
    shifted = np.concatenate([np.zeros(int(1.5 * SR), np.float32), audio])
    plain, later = whisper_base.transcribe(audio), whisper_base.transcribe(shifted)
    _check_times(later, shifted)

    def middle(w):
        return (w.start + w.end) / 2

    assert abs(middle(later[0]) - middle(plain[0]) - 1.5) <= NEAR_SPEECH_S, (plain[0], later[0])
    assert abs(later[-1].end - plain[-1].end - 1.5) <= 0.1, (plain[-1], later[-1])


def test_the_assembled_model_is_reused_and_whole(demo_root, whisper_base):
    from app.assets.packaged import WHISPER_BIN_BYTES, packaged_whisper

    folder = packaged_whisper(demo_root)
    model = folder / "model.bin"
    assert model.stat().st_size == WHISPER_BIN_BYTES
    stamp = model.stat().st_mtime_ns
    assert packaged_whisper(demo_root) == folder and model.stat().st_mtime_ns == stamp
    leftovers = [p.name for p in demo_root.iterdir() if p.name.startswith(".whisper-")]
    assert leftovers == []
