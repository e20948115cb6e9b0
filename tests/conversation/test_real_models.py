"""Real recognition and a real reply model in the conversation, with the demo Dia2 and Mimi
(random weights in the published layout: the only parts that are stand-ins).

- A Dia2 prefix built from Whisper base's words and the real recordings' Mimi codes passes the
  engine's checks (words, new-word steps inside the audio, context room) and generates.
- A headless conversation over the recordings, with SmolLM2-135M-Instruct answering: the
  transcript holds the person's real words (word error rate at most 15 %) with times, the
  character's reply words with times, subtitles that say the same, and every latency stage.
"""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from app.audio.files import read_audio
from app.conversation.character import Character, Dia2Settings
from app.conversation.events import Error, PersonWords, ReplyWord, TurnAdded, TurnTimings
from app.conversation.headless import run_headless
from app.conversation.pipeline import PipelineConfig
from app.conversation.session import Session
from app.conversation.sinks import VirtualSink
from app.core import FRAME_RATE, Word
from app.tts.options import GenerationOptions
from app.tts.prefix import FIRST_TURN_OFFSET, PrefixTurn
from tests.asr.wer import wer
from tests.audio.speech import ESPEAK_SENTENCES, KNOWN_TEXT, SHARED_AUDIO, espeak

CHARACTER = Character(name="Ava", persona="You are Ava, a friendly companion.",
                      greeting="", dia2=Dia2Settings(seed=3))


@pytest.fixture(scope="module")
def known_speech(tmp_path_factory) -> list[tuple[str, object]]:
    """(known text, WAV path): the shared recordings, else espeak-ng speech."""
    shared = [(KNOWN_TEXT[n], SHARED_AUDIO / n) for n in sorted(KNOWN_TEXT, reverse=True)
              if (SHARED_AUDIO / n).is_file()]
    if shared:
        return shared
    folder = tmp_path_factory.mktemp("espeak")
    return [(t, espeak(t, folder / f"s{i}.wav")) for i, t in enumerate(ESPEAK_SENTENCES[:2])]


def _turn(recognizer, engine, path, speaker: int) -> PrefixTurn:
    audio24 = read_audio(path, 24000)[0]
    audio16 = read_audio(path, 16000)[0]
    words = tuple(Word(w.text, w.start, w.end) for w in recognizer.transcribe(audio16))
    return PrefixTurn(speaker, words, codes=engine.codec.encode(audio24))


def test_a_prefix_from_real_words_and_codes_generates(demo_models, known_speech):
    engine, recognizer = demo_models
    turns = [_turn(recognizer, engine, known_speech[0][1], 1),
             _turn(recognizer, engine, known_speech[1][1], 2)]
    plan = engine.plan_prefix(turns)
    words = [w for t in turns for w in t.words]
    assert len(words) >= 8 and plan.word_count == len(words)
    assert [e.text for e in plan.entries] == [w.text for w in words]
    frames0 = int(turns[0].codes.shape[1])
    assert plan.frames == frames0 + int(turns[1].codes.shape[1])
    assert plan.frames == pytest.approx((len(read_audio(known_speech[0][1], 24000)[0])
                                         + len(read_audio(known_speech[1][1], 24000)[0]))
                                        / 24000 * FRAME_RATE, abs=2)
    steps = sorted(plan.new_word_steps)
    assert len(steps) == len(words), "two words share a new-word step"
    # each word starts inside its own turn's audio, where the recogniser heard it start or a
    # little later (a word's tokens take a step each, and may push the next word back)
    bounds = [(FIRST_TURN_OFFSET, frames0, turns[0]), (frames0, plan.frames, turns[1])]
    turn_steps = [steps[:len(turns[0].words)], steps[len(turns[0].words):]]
    for (offset, end, turn), own in zip(bounds, turn_steps, strict=True):
        for step, w in zip(own, turn.words, strict=True):
            heard = round(w.start * FRAME_RATE) - 1
            assert heard <= step - offset + 1 and step - offset <= heard + 6, (w, step - offset)
            assert step < end, f"{w.text!r} would start after its turn's audio"
    options = GenerationOptions(seed=1, max_frames=60, include_prefix=True)
    engine.check_fits(engine.parse("[S1] Nice to meet you."), options, plan)
    result = engine.generate("[S1] Nice to meet you.", options, turns)
    assert result.audio_tokens.shape[1] > plan.frames  # the prefix, then new frames
    assert result.waveform is not None and np.isfinite(result.waveform).all()
    heard = [text for text, _ in result.timestamps]
    assert heard[:len(words)] == [w.text for w in words]  # the prefix's words come back first


def _srt_cues(text: str) -> list[tuple[float, float, str, list[str]]]:
    def secs(stamp: str) -> float:
        h, m, rest = stamp.split(":")
        s, ms = rest.split(",")
        return int(h) * 3600 + int(m) * 60 + int(s) + int(ms) / 1000

    out = []
    for block in text.strip().split("\n\n"):
        _, times, line = block.split("\n", 2)
        a, b = times.split(" --> ")
        who, words = line.split(": ", 1)
        out.append((secs(a), secs(b), who, words.removesuffix(" —").split()))
    return out


def test_a_headless_conversation_with_real_recognition_and_replies(tmp_path, demo_models,
                                                                   known_speech):
    from dataclasses import replace

    from app.assets.packaged import packaged_reply_config
    from app.brains.factory import make_brain

    brain = make_brain(replace(packaged_reply_config(), device="cpu", temperature=0.0))
    events: list = []
    out = tmp_path / "session"
    session = Session.open(CHARACTER, VirtualSink("instant"), out=out, models=demo_models,
                           brain=brain, on_event=events.append, realtime=False,
                           config=PipelineConfig(max_frames=150))
    try:
        run_headless(session, [p for _, p in known_speech], timeout=600)
    finally:
        session.close()
    errors = [e for e in events if isinstance(e, Error)]
    assert not errors, errors
    data = json.loads((out / "transcript.json").read_text())
    turns = data["turns"]
    assert [t["speaker"] for t in turns] == ["person", "character"] * len(known_speech)
    # the person's real words, with times inside their turn
    people = [t for t in turns if t["speaker"] == "person"]
    pairs = [(text, t["text"]) for (text, _), t in zip(known_speech, people, strict=True)]
    print("\n".join(f"known: {a}\nheard: {b}" for a, b in pairs))
    assert wer(pairs) <= 0.15
    for t in turns:
        starts = [w["start"] for w in t["words"]]
        assert starts == sorted(starts)
        for w in t["words"]:
            assert t["start"] - 1e-3 <= w["start"] <= w["end"] <= t["end"] + 1e-3, (t, w)
    # the character's replies: real English words, clean for speech, with times
    replies = [t for t in turns if t["speaker"] == "character"]
    for t in replies:
        print(f"Ava: {t['text']}")
        assert t["words"], "the reply placed no word"
        for w in t["words"]:
            assert re.fullmatch(r"[\w'’.,!?;:\"()%$€£&/+=@°…¿¡—–-]+", w["word"]), w
    placed = [e.word for e in events if isinstance(e, ReplyWord)]
    assert placed[: len(replies[0]["words"])] == [w["word"] for w in replies[0]["words"]]
    assert len([e for e in events if isinstance(e, PersonWords)]) == len(known_speech)
    assert len([e for e in events if isinstance(e, TurnAdded)]) == len(turns)
    # subtitles say the same words at the same times
    cues = _srt_cues((out / "transcript.srt").read_text())
    for who, speaker in (("You", "person"), ("Ava", "character")):
        said = [w for t in turns if t["speaker"] == speaker for w in t["words"]]
        mine = [c for c in cues if c[2] == who]
        assert [w for c in mine for w in c[3]] == [w["word"] for w in said]
        firsts = iter(said)
        for a, _b, _who, ws in mine:
            first = next(firsts)
            assert abs(a - first["start"]) <= 0.002
            for _ in ws[1:]:
                next(firsts)
    # latency: every stage of every reply, in order
    timings = [e for e in events if isinstance(e, TurnTimings)]
    assert len(timings) == len(known_speech)
    for t in timings:
        stages = [t.words_ready_s, t.first_text_s, t.first_frame_s, t.first_heard_s]
        assert None not in stages and stages == sorted(stages), t
        assert t.recognise_s > 0 and t.frames > 0
    for t in replies:
        assert set(t["timings"]) >= {"words_ready_s", "first_text_s", "first_frame_s",
                                     "first_heard_s"}
