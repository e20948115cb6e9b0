"""The typed brain: the character says what the person typed."""

from __future__ import annotations

import threading

import pytest

from app.brains.base import BrainError
from app.brains.typed import TypedBrain, TypedConfig
from app.errors import UserError


def test_reply_returns_typed_text_in_order() -> None:
    brain = TypedBrain()
    brain.submit("  Hello, I'm typing this.  ")
    brain.submit("And this second.")
    assert brain.pending == 2
    assert list(brain.reply([])) == ["Hello, I'm typing this."]
    assert list(brain.reply([])) == ["And this second."]
    assert brain.pending == 0


def test_reply_blocks_until_text_is_typed() -> None:
    brain = TypedBrain()
    result: list[str] = []
    waiting = threading.Thread(target=lambda: result.extend(brain.reply([])))
    waiting.start()
    waiting.join(0.2)
    assert waiting.is_alive() and result == []
    brain.submit("Finally!")
    waiting.join(10)
    assert not waiting.is_alive()
    assert result == ["Finally!"]


def test_cancel_wakes_a_waiting_reply_and_keeps_later_text() -> None:
    brain = TypedBrain()
    cancel = threading.Event()
    result: list[str] = []
    waiting = threading.Thread(target=lambda: result.extend(brain.reply([], cancel=cancel)))
    waiting.start()
    cancel.set()
    waiting.join(10)
    assert not waiting.is_alive() and result == []
    brain.submit("For next time.")
    assert list(brain.reply([])) == ["For next time."]


def test_close_wakes_a_waiting_reply() -> None:
    brain = TypedBrain()
    result: list[str] = ["sentinel"]
    waiting = threading.Thread(target=lambda: result.extend(brain.reply([])))
    waiting.start()
    brain.close()
    waiting.join(10)
    assert not waiting.is_alive() and result == ["sentinel"]
    with pytest.raises(UserError):
        brain.submit("too late")


def test_wait_timeout() -> None:
    brain = TypedBrain(TypedConfig(wait_timeout_s=0.1))
    with pytest.raises(BrainError, match="Nothing was typed"):
        list(brain.reply([]))


def test_blank_text_is_refused() -> None:
    with pytest.raises(UserError, match="Type something"):
        TypedBrain().submit("   ")
