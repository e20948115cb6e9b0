"""Whatever a reply model writes reaches the voice as clean speakable words, or the person gets
a clear notice. The replies come from a real chat server on loopback that streams what small
models write (markdown, lists, emoji, code, a sentence cut off by the length limit, nothing)."""

from __future__ import annotations

import re
import threading

from app.brains.base import Message
from app.brains.openai_compat import OpenAICompatibleBrain, OpenAICompatibleConfig
from app.conversation.events import Error, TurnAdded
from app.conversation.reply import ReplyText
from app.conversation.session import Session
from app.conversation.sinks import VirtualSink
from tests.brains.chat_server import ChatServer
from tests.conversation.test_pipeline import CHARACTER

HISTORY = [Message("user", "Any ideas for today?")]
SPEAKABLE = re.compile(r"[\w'\"().,!?;:%$€£&/+=@°…¿¡—–-]+")


def _words(server: ChatServer, model: str) -> ReplyText:
    brain = OpenAICompatibleBrain(OpenAICompatibleConfig(base_url=server.base_url, model=model))
    text = ReplyText(lambda cancel: brain.reply(HISTORY, cancel=cancel), threading.Event())
    text.join(30)
    assert text.done and text.error is None
    return text


def test_markdown_lists_emoji_code_and_an_unfinished_sentence_become_clean_words():
    with ChatServer() as server:
        text = _words(server, "markdown")
    assert " ".join(text.words) == ("Sure! Here are two ideas: Go for a walk. Read a book. "
                                    "And then we could talk about it.")
    assert all(SPEAKABLE.fullmatch(w) for w in text.words)
    assert text.words[-1].endswith(".")  # cut off by the length limit, still a finished sentence


def test_an_empty_or_unspeakable_reply_is_a_clear_notice(tmp_path, demo_models, speech24k):
    with ChatServer() as server:
        for model, notice in (("only-code", "nothing that can be said aloud"),
                              ("empty", "gave an empty reply")):
            events: list = []
            brain = OpenAICompatibleBrain(OpenAICompatibleConfig(base_url=server.base_url,
                                                                 model=model))
            session = Session.open(CHARACTER, VirtualSink("instant"), out=None,
                                   models=demo_models, brain=brain, on_event=events.append,
                                   realtime=False)
            try:
                session.pipeline.submit_turn(speech24k)
                assert session.pipeline.wait_idle(120)
            finally:
                session.close()
            errors = [e for e in events if isinstance(e, Error)]
            assert [e.where for e in errors] == ["brain"] and notice in errors[0].message
            assert not errors[0].fatal
            speakers = [e.turn.speaker for e in events if isinstance(e, TurnAdded)]
            assert speakers == [2], "no character turn for a reply with nothing to say"
