"""Closing a session leaves no thread behind, whatever the brain and wherever the reply was.

A thread still running when the interpreter exits can abort the process ("terminate called
without an active exception", exit 134): the local language model's generation thread and the
pipeline's reply thread did, before they were joined at close. Each case closes the session in
the middle of a reply, while the brain is still at work, then counts the live threads.
"""

from __future__ import annotations

import threading
import time
from dataclasses import replace

import pytest

from app.brains.openai_compat import OpenAICompatibleBrain, OpenAICompatibleConfig
from app.brains.script import ScriptBrain
from app.brains.typed import TypedBrain
from app.conversation.character import Character, Dia2Settings
from app.conversation.events import State, StateChanged
from app.conversation.pipeline import PipelineConfig
from app.conversation.session import Session
from app.conversation.sinks import VirtualSink
from tests.brains.chat_server import ChatServer

CHARACTER = Character(name="Ava", persona="Be brief.", greeting="", dia2=Dia2Settings(seed=3))


def _demo_llm(max_new_tokens: int):
    from app.brains.demo_llm import build_demo_llm, demo_brain_config
    from app.brains.local_llm import TransformersBrain
    from app.paths import app_cache_dir

    folder = app_cache_dir() / "demo-llm-v1"
    if not (folder / "config.json").is_file():
        build_demo_llm(folder)
    # the demo model never stops by itself: with many tokens allowed it is still generating
    # when the session closes
    return TransformersBrain(replace(demo_brain_config(folder), max_new_tokens=max_new_tokens))


def _live_threads() -> dict[int, str]:
    """The live threads, less the test chat server's request handlers (not the app's)."""
    return {t.ident: t.name for t in threading.enumerate()
            if t.is_alive() and "process_request_thread" not in t.name}


def _wait_for(predicate, timeout: float = 120.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return False


@pytest.mark.parametrize("kind", ["transformers", "openai", "script", "typed"])
def test_closing_mid_reply_joins_every_thread(kind, tmp_path, demo_models, demo_root, speech24k):
    with ChatServer() as server:
        before = _live_threads()
        if kind == "transformers":
            brain, busy = _demo_llm(4000), "llm-generate"
        elif kind == "openai":  # the server sends three words, then nothing: the reader waits
            brain = OpenAICompatibleBrain(OpenAICompatibleConfig(base_url=server.base_url,
                                                                 model="stall"))
            busy = "reply-text"
        elif kind == "script":
            brain, busy = ScriptBrain.from_text("[S1] One two three four five six seven."), None
        else:  # typed: the reply waits for text that never comes
            brain, busy = TypedBrain(), "reply-text"
        states: list[State] = []
        # "manual" sink: nothing is ever heard, so the reply is still under way at close
        session = Session.open(CHARACTER, VirtualSink("manual"), out=tmp_path / "s", models=demo_models,
                               brain=brain, realtime=False, config=PipelineConfig(max_frames=6),
                               on_event=lambda e: states.append(e.state)
                               if isinstance(e, StateChanged) else None)
        try:
            session.pipeline.submit_turn(speech24k)
            want = State.THINKING if kind == "typed" else State.SPEAKING
            assert _wait_for(lambda: want in states), states
            if busy is not None:
                assert _wait_for(lambda: busy in _live_threads().values())
        finally:
            session.close()
        left = {i: n for i, n in _live_threads().items() if i not in before}
        assert left == {}, f"threads still running after close: {sorted(left.values())}"
        assert session.pipeline.state == State.STOPPED
