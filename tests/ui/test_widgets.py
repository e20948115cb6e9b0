"""The window's parts on their own: the level tape, the state shown, the conversation view's
lit words and tool tips, the waveform's lanes."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint

from app.conversation.events import Hearing, Interrupted, State, StateChanged, TurnTimings
from app.core import Word
from app.workers.tape import BIN_S, LevelTape


def test_tape_keeps_peaks_per_bin_on_the_timeline():
    tape = LevelTape(seconds=10)
    x = np.zeros(24000, np.float32)
    x[100], x[12000] = 0.2, -0.5  # at 1.004 s and 1.5 s
    tape.add_samples("character", 1.0, x)
    w = tape.window("character", 1.0, int(1 / BIN_S))
    assert w[0] == pytest.approx(0.2) and w[25] == pytest.approx(0.5)
    assert np.count_nonzero(w) == 2
    tape.add_level("person", 0.5, 0.3)
    assert tape.window("person", 0.48, 4).tolist() == pytest.approx([0, 0.3, 0, 0])
    # a ring: 10 s later the same slot holds a new bin, and the old one reads as silence
    tape.add_level("person", 10.5, 0.9)
    assert tape.window("person", 0.5, 1)[0] == 0
    assert tape.window("person", 10.5, 1)[0] == pytest.approx(0.9)
    tape.clear()
    assert tape.window("person", 10.5, 1)[0] == 0


def test_status_follows_the_pipeline():
    from app.ui.status import StatusModel

    s = StatusModel()
    assert s.key == "starting"
    s.running = True
    s.feed(StateChanged(State.LISTENING, State.IDLE))
    assert s.key == "listening"
    s.feed(Hearing(True))
    assert s.key == "hearing"
    s.feed(StateChanged(State.RECOGNISING, State.LISTENING))
    assert s.key == "thinking"
    s.feed(StateChanged(State.SPEAKING, State.THINKING))
    assert s.key == "speaking"
    s.feed(Interrupted(1, 0.8, 2))
    s.feed(StateChanged(State.LISTENING, State.SPEAKING))
    assert s.key == "interrupted"
    s.feed(StateChanged(State.RECOGNISING, State.LISTENING))
    assert s.key == "thinking"
    s.muted = True
    s.feed(StateChanged(State.LISTENING, State.SPEAKING))
    assert s.key == "muted"
    s.feed(TurnTimings(1, 0.2, 0.35, 0.5, None))
    assert s.latency_text() == "last turn: words 200 ms · text 350 ms · audio 500 ms"


def test_words_light_up_by_the_playback_clock(qtbot):
    from app.ui.conversation_view import ConversationView

    view = ConversationView()
    qtbot.addWidget(view)
    view.character_name = "Ava"
    view.resize(500, 400)
    view.show()
    view.person_words(0, (Word("hello", 0.1, 0.4), Word("there", 0.5, 0.9)), timeline=1.0)
    for word, start in (("nice", 0.0), ("to", 0.3), ("meet", 0.5), ("you", 0.8)):
        view.reply_word(1, word, start)
    person, reply = view.bubbles()
    assert person.text == "hello there" and person.heard_count() == 2
    view.set_now(5.0)
    assert reply.heard_count() == 0  # generated, but not heard yet
    view.reply_placed(1, 3.0)
    view.set_now(3.35)
    assert reply.heard_count() == 2
    view.set_now(10.0)
    assert reply.heard_count() == 4
    # the final turn keeps only what was heard (interrupted after "to")
    from app.conversation.turns import Turn

    view.turn_added(Turn(1, 1, (Word("nice", 0.0, 0.3), Word("to", 0.3, 0.5)), timeline=3.0,
                         interrupted=True))
    assert reply.text == "nice to" and reply.interrupted and reply.heard_count() == 2
    # each word's time is there on hover
    qtbot.waitExposed(view)
    i = reply.word_at(reply._boxes[1].center()) if reply.word_at(QPoint(0, 0)) is None else -1
    assert i == 1
    tip = reply.word_tip(1)
    assert "0.30–0.50 s" in tip and "3.30 s" in tip


def test_waveform_draws_both_lanes_around_now(qtbot):
    from app.ui.waveform import WaveformView

    tape = LevelTape()
    clock = {"now": 10.0}
    view = WaveformView(tape, lambda: clock["now"])
    qtbot.addWidget(view)
    view.resize(600, 120)
    tape.add_level("person", 9.0, 0.5, duration=0.5)
    tape.add_samples("character", 10.5, np.full(2400, 0.25, np.float32))  # ahead of now
    mic, voice = view.lanes(10.0, 200)
    assert len(mic) == len(voice) == 200
    per_bin = (view.back_s + view.ahead_s) / 200
    assert mic.max() == pytest.approx(0.5) and voice.max() == pytest.approx(0.25)
    assert np.flatnonzero(mic)[0] * per_bin == pytest.approx(view.back_s - 1.0, abs=per_bin)
    assert np.flatnonzero(voice)[0] * per_bin == pytest.approx(view.back_s + 0.5, abs=per_bin)
    view.show()
    qtbot.waitExposed(view)
    img = view.grab().toImage()
    assert img.width() >= 600
    view.set_running(True)
    before = view.paints
    qtbot.waitUntil(lambda: view.paints >= before + 3, timeout=2000)
    view.set_running(False)


def test_thinking_counts_seconds_from_the_first_one():
    from app.ui.status import thinking_detail

    assert [thinking_detail(s) for s in (0.0, 0.99, 1.0, 2.7, 61)] == [
        "", "", "… 1 s", "… 2 s", "… 61 s"]
