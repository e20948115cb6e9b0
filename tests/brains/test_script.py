"""The dialogue-script brain."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from app.brains.base import Message
from app.brains.script import ScriptBrain, ScriptConfig, ScriptOver, ScriptTurn, parse_script
from app.errors import UserError

SCRIPT = """\
# A short scene
[S1] Good morning! Lovely weather today.
[S2] It is. Are you going out?
[S1] I thought I might walk to the harbour.
     Would you like to come along?
[S2] Sure. [S1] Wonderful, let's go.

[S2] After you.
"""


def test_parse_turns() -> None:
    assert parse_script(SCRIPT) == [
        ScriptTurn("S1", "Good morning! Lovely weather today."),
        ScriptTurn("S2", "It is. Are you going out?"),
        ScriptTurn("S1", "I thought I might walk to the harbour. Would you like to come along?"),
        ScriptTurn("S2", "Sure."),
        ScriptTurn("S1", "Wonderful, let's go."),
        ScriptTurn("S2", "After you."),
    ]


def test_consecutive_lines_of_one_speaker_merge() -> None:
    assert parse_script("[S1] One.\n[S1] Two.\n[s2]Three") == [
        ScriptTurn("S1", "One. Two."),
        ScriptTurn("S2", "Three"),
    ]


def test_replies_follow_the_script_until_it_is_over(tmp_path: Path) -> None:
    path = tmp_path / "scene.txt"
    path.write_text(SCRIPT, encoding="utf-8")
    brain = ScriptBrain(ScriptConfig(path))
    assert brain.next_person_line is None and brain.lines_left == 3
    assert list(brain.reply([])) == ["Good morning! Lovely weather today."]
    assert brain.next_person_line == "It is. Are you going out?"
    history = [Message("user", "It is. Are you going out?")]
    assert (
        "".join(brain.reply(history))
        == "I thought I might walk to the harbour. Would you like to come along?"
    )
    assert not brain.finished
    assert "".join(brain.reply(history)) == "Wonderful, let's go."
    assert brain.finished and brain.lines_left == 0
    assert brain.next_person_line == "After you."
    with pytest.raises(ScriptOver, match="script is over"):
        list(brain.reply(history))
    brain.reset()
    assert not brain.finished
    assert "".join(brain.reply([])) == "Good morning! Lovely weather today."


def test_cancelled_reply_does_not_advance() -> None:
    brain = ScriptBrain.from_text(SCRIPT)
    cancel = threading.Event()
    cancel.set()
    assert list(brain.reply([], cancel=cancel)) == []
    assert "".join(brain.reply([])) == "Good morning! Lovely weather today."


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Hello there\n[S1] Hi", "Line 1 .* no speaker"),
        ("[S2] Only the person talks.", "no \\[S1\\] line"),
        ("", "no \\[S1\\] line"),
    ],
)
def test_bad_scripts(text: str, message: str) -> None:
    with pytest.raises(UserError, match=message):
        parse_script(text)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="Cannot read the dialogue script"):
        ScriptBrain(ScriptConfig(tmp_path / "absent.txt"))


def test_non_utf8_file(tmp_path: Path) -> None:
    path = tmp_path / "latin1.txt"
    path.write_bytes("[S1] Caf\xe9 au lait, s'il vous pla\xeet.".encode("latin-1"))
    with pytest.raises(UserError, match="not UTF-8"):
        ScriptBrain(ScriptConfig(path))
