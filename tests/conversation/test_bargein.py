"""The echo gate: the character's own voice coming back does not interrupt; the person does."""

from __future__ import annotations

import numpy as np

from app.audio.files import read_audio
from app.conversation.bargein import BargeInConfig, BargeInDetector, PlayedHistory, TappedSink
from app.conversation.sinks import VirtualSink

CHUNK = 480  # 20 ms at 24 kHz


def run(detector, mic, positions, voice=True):
    """Feed `mic` in 20 ms chunks; the playhead at each chunk's end is `positions[i]`."""
    fired = []
    for i in range(len(mic) // CHUNK):
        if detector.feed(mic[i * CHUNK:(i + 1) * CHUNK], positions[i], True, voice):
            fired.append(i)
    return fired


def test_echo_alone_never_interrupts_but_the_person_does(speech_files):
    # (with the recordings and with espeak-ng's dense synthetic speech alike)
    played, _ = read_audio(speech_files[1], 24000)
    person, _ = read_audio(speech_files[0], 24000)
    n = min(len(played), len(person)) // CHUNK * CHUNK
    played, person = played[:n], person[:n]
    history = PlayedHistory()
    sink = TappedSink(VirtualSink("manual"), history)
    for i in range(0, n, 1920):
        sink.write(played[i:i + 1920])
    delay = int(0.06 * 24000)  # the speaker-to-microphone path: 60 ms late, 6 dB down
    echo = np.concatenate([np.zeros(delay, np.float32), 0.5 * played[:-delay]])
    positions = [(i + 1) * CHUNK for i in range(n // CHUNK)]
    det = BargeInDetector(BargeInConfig(), history)
    assert run(det, echo, positions) == []  # voice activity on the echo, but under the gate
    det.reset()
    loud = echo + 2.5 * person / max(np.abs(person).max(), 1e-6) * np.abs(played).max()
    fired = run(det, np.clip(loud, -1, 1), positions)
    assert fired  # the person speaking over the echo interrupts
    # with headphones there is no echo path: any speech interrupts, quickly
    head = BargeInDetector(BargeInConfig(headphones=True), history)
    fired_h = run(head, 0.2 * person, positions)
    assert fired_h and fired_h[0] * CHUNK <= 0.5 * 24000 + CHUNK * 8


def test_needs_voice_and_the_character_speaking(speech24k):
    history = PlayedHistory()
    det = BargeInDetector(BargeInConfig(headphones=True), history)
    chunk = speech24k[24000:24000 + CHUNK]
    assert not any(det.feed(chunk, 0, True, False) for _ in range(20))  # no voice activity
    assert not any(det.feed(chunk, 0, False, True) for _ in range(20))  # character silent
    assert any(det.feed(chunk, 0, True, True) for _ in range(20))


def test_played_history_wraps():
    h = PlayedHistory(seconds=0.1)  # 2400 samples
    h.add(0, np.arange(3000, dtype=np.float32))
    assert h.end == 3000
    np.testing.assert_array_equal(h.window(2990, 3005), np.arange(2990, 3000, dtype=np.float32))
    assert len(h.window(0, 100)) == 0  # forgotten
    h.add(3000, np.ones(10, np.float32))
    assert h.window(3000, 3010).tolist() == [1.0] * 10
