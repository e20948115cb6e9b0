"""A session whose recogniser cannot run on the GPU: it says so once, and every turn is still
recognised (on the CPU). The failure is real: CTranslate2 cannot open a model on CUDA on this
machine, which has no GPU."""

from __future__ import annotations

import dataclasses

from app.asr.recognizer import Recognizer
from app.assets.packaged import packaged_asr_config
from app.brains.script import ScriptBrain
from app.conversation.character import Character, Dia2Settings
from app.conversation.events import Error, PersonWords
from app.conversation.headless import run_headless
from app.conversation.pipeline import PipelineConfig
from app.conversation.session import Session
from app.conversation.sinks import VirtualSink

CHARACTER = Character(name="Ava", persona="Be brief.", greeting="", dia2=Dia2Settings(seed=3))
MOVED = "cannot run on the GPU"


def _gpu_recognizer(demo_root) -> Recognizer:
    return Recognizer(dataclasses.replace(packaged_asr_config(), device="cuda"))


def _run(demo_models, recognizer, tmp_path, speech_files):
    events = []
    session = Session.open(CHARACTER, VirtualSink("instant"), out=tmp_path / "s",
                           models=(demo_models[0], recognizer),
                           brain=ScriptBrain.from_text("[S2] a\n[S1] Yes.\n[S2] b\n[S1] Sure."),
                           on_event=events.append, realtime=False,
                           config=PipelineConfig(max_frames=12))
    try:
        run_headless(session, speech_files, timeout=120)
    finally:
        session.close()
    return events


def test_a_fallback_during_the_first_turn_is_said_once(demo_models, demo_root, tmp_path,
                                                       speech_files):
    rec = _gpu_recognizer(demo_root)
    assert rec.device == "cuda" and not rec.loaded
    events = _run(demo_models, rec, tmp_path, speech_files)
    moved = [e for e in events if isinstance(e, Error) and MOVED in e.message]
    assert len(moved) == 1 and moved[0].where == "recognition" and not moved[0].fatal
    assert rec.device == "cpu"
    heard = [e for e in events if isinstance(e, PersonWords)]
    assert len(heard) == len(speech_files) and all(e.words for e in heard)
    assert not [e for e in events if isinstance(e, Error) and e is not moved[0]]


def test_a_fallback_at_load_is_said_when_the_session_starts(demo_models, demo_root, tmp_path,
                                                            speech_files):
    rec = _gpu_recognizer(demo_root)
    rec.load()  # what open_models does before a session
    assert rec.device == "cpu"
    events = _run(demo_models, rec, tmp_path, speech_files[:1])
    errors = [e for e in events if isinstance(e, Error)]
    assert len(errors) == 1 and MOVED in errors[0].message and errors[0].where == "device"
    assert events.index(errors[0]) < next(i for i, e in enumerate(events)
                                          if isinstance(e, PersonWords))
