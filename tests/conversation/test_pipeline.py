"""The whole turn pipeline, headless, with the demo Dia2 + Mimi + Whisper and real brains."""

from __future__ import annotations

import json
import threading
import time

import numpy as np
import pytest
import soundfile as sf

from app.brains.openai_compat import OpenAICompatibleBrain, OpenAICompatibleConfig
from app.brains.script import ScriptBrain
from app.conversation.character import Character, Dia2Settings
from app.conversation.events import (
    Error,
    Interrupted,
    PersonWords,
    ReplyWord,
    State,
    StateChanged,
    TurnAdded,
    TurnTimings,
)
from app.conversation.headless import run_headless
from app.conversation.pipeline import PipelineConfig
from app.conversation.session import Session
from app.conversation.sinks import VirtualSink
from tests.brains.chat_server import ChatServer, free_port

CHARACTER = Character(name="Ava", persona="Be brief.", greeting="Hi there, I am Ava.",
                      dia2=Dia2Settings(seed=3))


def open_session(demo_models, brain, out, sink=None, events=None, **kw):
    events = events if events is not None else []
    session = Session.open(CHARACTER, sink or VirtualSink("instant"), out=out, models=demo_models,
                           brain=brain, on_event=events.append, realtime=False, **kw)
    return session, events


def of(events, kind):
    return [e for e in events if isinstance(e, kind)]


def test_headless_conversation_is_recorded(tmp_path, demo_models, speech_files):
    brain = ScriptBrain.from_text("[S2] Hello.\n[S1] Oh, hello! Nice day.\n[S2] Yes.\n[S1] Good, bye now.")
    out = tmp_path / "session"
    session, events = open_session(demo_models, brain, out, config=PipelineConfig(max_frames=24))
    try:
        run_headless(session, speech_files, greeting=CHARACTER.greeting, timeout=120)
        conv = session.pipeline.conversation
    finally:
        session.close()
    assert not of(events, Error)
    turns = [e.turn for e in of(events, TurnAdded)]
    assert [t.speaker for t in turns] == [1, 2, 1, 2, 1]
    assert conv.voice is not None and conv.voice_locked  # the greeting became the voice
    assert len(of(events, PersonWords)) == 2
    timings = of(events, TurnTimings)
    assert len(timings) == 3
    for t in timings[1:]:  # replies to the person: every stage measured, in order
        stages = [t.words_ready_s, t.first_text_s, t.first_frame_s, t.first_heard_s]
        assert None not in stages and stages == sorted(stages)
        assert t.frames > 0 and t.segments == 1
    states = [e.state for e in of(events, StateChanged)]
    assert states[:3] == [State.LISTENING, State.THINKING, State.SPEAKING]
    assert State.RECOGNISING in states and states[-1] == State.STOPPED
    # the recording
    data = json.loads((out / "transcript.json").read_text())
    assert [t["speaker"] for t in data["turns"]] == ["character", "person", "character", "person", "character"]
    assert data["character"]["name"] == "Ava" and data["mode"] == "headless"
    assert all("timings" in t for t in data["turns"] if t["speaker"] == "character")
    lengths = set()
    for name in ("person", "character", "mix"):
        x, rate = sf.read(str(out / f"{name}.wav"), dtype="float32")
        assert rate == 24000
        lengths.add(len(x))
    assert len(lengths) == 1 and lengths.pop() / 24000 == pytest.approx(data["duration"], abs=1e-3)
    person, _ = sf.read(str(out / "person.wav"), dtype="float32")
    character, _ = sf.read(str(out / "character.wav"), dtype="float32")
    for t in data["turns"]:  # each turn's audio lies where the transcript says, on its own track
        a, b = int(t["start"] * 24000), int(t["end"] * 24000)
        track = character if t["speaker"] == "character" else person
        other = person if t["speaker"] == "character" else character
        assert np.abs(track[a:b]).max() > 0.01
        assert np.abs(other[a:b]).max() == 0  # turns do not overlap headless
        for w in t["words"]:
            assert t["start"] <= w["start"] <= w["end"] <= t["end"] + 1e-3
    srt = (out / "transcript.srt").read_text()
    assert srt.startswith("1\n00:00:00,") and "Ava:" in srt and "You:" in srt
    assert (out / "transcript.vtt").read_text().startswith("WEBVTT")


def test_brain_failing_mid_reply_keeps_the_session(tmp_path, demo_models, speech24k):
    with ChatServer() as server:
        brain = OpenAICompatibleBrain(OpenAICompatibleConfig(base_url=server.base_url, model="drop"))
        session, events = open_session(demo_models, brain, tmp_path / "s",
                                       config=PipelineConfig(max_frames=30))
        try:
            for _ in range(2):  # the connection drops after "Hello there, friend" each time
                session.pipeline.submit_turn(speech24k[:48000])
                assert session.pipeline.wait_idle(120)
        finally:
            session.close()
    errors = [e for e in of(events, Error) if e.where == "brain"]
    assert len(errors) == 2 and all("cut short" in e.message for e in errors)
    replies = [e.turn for e in of(events, TurnAdded) if e.turn.speaker == 1]
    assert len(replies) == 2
    # what arrived is spoken: each reply was generated from the text that came before the drop;
    # (the random demo Dia2 may place no word within 30 frames, so only placed words are checked)
    assert all(r.frames > 0 and r.timings["first_text_s"] is not None for r in replies)
    arrived = ["Hello", "there,", "friend."]  # a reply cut short still ends a sentence
    assert all([w.text for w in r.words] == arrived[:len(r.words)] for r in replies)
    assert session.pipeline.state == State.STOPPED


def test_unreachable_brain_is_reported(tmp_path, demo_models, speech24k):
    brain = OpenAICompatibleBrain(OpenAICompatibleConfig(base_url=f"http://127.0.0.1:{free_port()}/v1", model="x",
                                                         connect_timeout_s=1))
    session, events = open_session(demo_models, brain, tmp_path / "s")
    try:
        session.pipeline.submit_turn(speech24k[:24000])
        assert session.pipeline.wait_idle(60)
    finally:
        session.close()
    assert [e.where for e in of(events, Error)] == ["brain"]
    assert [e.turn.speaker for e in of(events, TurnAdded)] == [2]


def test_silence_gives_a_clear_message_and_no_reply(tmp_path, demo_models):
    brain = ScriptBrain.from_text("[S1] Never said.")
    session, events = open_session(demo_models, brain, tmp_path / "s")
    try:
        session.pipeline.submit_turn(np.zeros(24000, dtype=np.float32))
        assert session.pipeline.wait_idle(60)
    finally:
        session.close()
    errors = of(events, Error)
    assert len(errors) == 1 and errors[0].where == "recognition" and "no words" in errors[0].message
    assert not of(events, ReplyWord)
    assert brain.lines_left == 1


def test_interruption_keeps_only_the_words_heard(tmp_path, demo_models, speech24k):
    line = "one two three four five six seven eight nine ten eleven twelve"
    brain = ScriptBrain.from_text(f"[S1] {line}")
    sink = VirtualSink("manual", keep=True)
    session, events = open_session(demo_models, brain, tmp_path / "s", sink=sink,
                                   config=PipelineConfig(max_frames=120))
    p = session.pipeline
    try:
        p.submit_turn(speech24k[:24000])
        deadline = time.monotonic() + 60
        while sink.pushed < 14 * 1920 and time.monotonic() < deadline:  # 14 frames generated
            time.sleep(0.01)
        heard = 9 * 1920 + 700  # the person heard 0.75 s, then spoke
        sink.play(heard)
        assert p.state == State.SPEAKING
        assert p.interrupt()
        pushed_at_cut = sink.pushed
        assert p.wait_idle(30)
    finally:
        session.close()
    assert sink.flushes >= 1 and sink.position() == sink.pushed
    assert sink.pushed - pushed_at_cut <= 1920  # generation stopped (at most the frame in flight)
    cut = of(events, Interrupted)
    assert len(cut) == 1 and cut[0].heard_s == pytest.approx(heard / 24000)
    spoken = [e for e in of(events, ReplyWord)]
    kept = [e.word for e in spoken if e.start + 0.1 <= heard / 24000]
    reply = [e.turn for e in of(events, TurnAdded) if e.turn.speaker == 1][0]
    assert reply.interrupted and [w.text for w in reply.words] == kept
    assert len(kept) < len(line.split())
    assert reply.frames == heard // 1920 and reply.duration == pytest.approx(heard / 24000)
    character, _ = sf.read(str(tmp_path / "s" / "character.wav"), dtype="float32")
    start = int(round(reply.timeline * 24000))
    assert not np.any(character[start + heard:])  # nothing unheard was recorded
    np.testing.assert_allclose(character[start:start + heard], sink.audio()[:heard], atol=2 / 32767)
    last = p.conversation.messages(None)[-1]
    if kept:  # the brain hears that it was cut off
        assert last.role == "assistant" and last.text.endswith("...")
    else:  # (the random demo Dia2 may place no word in the 9 frames heard): nothing to tell
        assert last.role == "user"


def test_interrupt_when_idle_does_nothing(demo_models, tmp_path):
    session, _ = open_session(demo_models, ScriptBrain.from_text("[S1] Hi."), None)
    try:
        assert not session.pipeline.interrupt()
    finally:
        session.close()


def test_long_reply_is_split_into_generations(tmp_path, demo_models, speech24k):
    line = "Well, here is a rather long answer. It keeps going on and on for a while."
    brain = ScriptBrain.from_text(f"[S1] {line}")
    sink = VirtualSink("instant", keep=True)
    session, events = open_session(demo_models, brain, tmp_path / "s", sink=sink,
                                   budget_overrides={"frames_per_word": 200.0},
                                   config=PipelineConfig(max_frames=400))
    try:
        session.pipeline.submit_turn(speech24k[:24000])
        assert session.pipeline.wait_idle(120)
    finally:
        session.close()
    timing = of(events, TurnTimings)[-1]
    assert timing.segments >= 2
    reply = [e.turn for e in of(events, TurnAdded) if e.turn.speaker == 1][0]
    assert [w.text for w in reply.words] == line.split()  # every word, once, in order
    starts = [w.start for w in reply.words]
    assert starts == sorted(starts) and reply.frames == timing.frames
    # seamless: one Mimi decoder runs through the joins, so the reply's audio is exactly the
    # decoding of all its codes as one stream (a decoder started afresh at a join is not)
    engine = demo_models[0]
    heard = sink.audio()
    whole = engine.codec.decode(reply.codes)
    assert len(heard) == len(whole)
    np.testing.assert_allclose(heard, whole, atol=1e-5 * np.abs(whole).max())


def test_events_can_come_through_a_queue_from_another_thread(tmp_path, demo_models):
    import queue

    q: queue.Queue = queue.Queue()
    session = Session.open(CHARACTER, VirtualSink(), out=None, models=demo_models,
                           brain=ScriptBrain.from_text("[S1] Hi."), on_event=q.put, realtime=False,
                           config=PipelineConfig(max_frames=10))
    seen = []
    reader = threading.Thread(target=lambda: seen.extend(iter(lambda: q.get(timeout=30), None)))
    try:
        session.pipeline.say("Okay then.")
        assert session.pipeline.wait_idle(60)
    finally:
        session.close()
        q.put(None)
    reader.start()
    reader.join()
    assert any(isinstance(e, TurnTimings) for e in seen)
    assert session.pipeline.conversation.turns[0].text.startswith("Okay")
