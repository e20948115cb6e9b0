"""Dialogue scripts: turns, words and pauses by the engine's own rules; clear errors."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.dialogue.script import Pause, ScriptWord, chunk_text, parse_dialogue
from app.errors import UserError
from app.tts.script import parse_script

SCRIPT = """# Episode 1: a comment line, not spoken
[S1] Hello there: how’s it going? <break time="0.5s"/> Fine.
[S2]Good, thanks.
[S1] Bye.
"""


def test_turns_words_and_pauses():
    s = parse_dialogue(SCRIPT)
    assert [t.speaker for t in s.turns] == [1, 2, 1]
    assert [t.line for t in s.turns] == [2, 3, 4]
    first = s.turns[0].items
    assert [i.text for i in first if isinstance(i, ScriptWord)] == [
        "Hello", "there", "how's", "it", "going?", "Fine."]  # the engine's ':' and ’ rules
    assert Pause(6) in first  # 0.5 s = round(6.25) frames
    assert [w.text for w in s.turns[1].words] == ["Good,", "thanks."]  # a tag glued to a word
    assert [w.index for w in s.words] == list(range(len(s.words)))


@pytest.mark.parametrize(("text", "message"), [
    ("", "nothing to say"),
    ("   \n# only a comment\n", "nothing to say"),
    ("Hello there, no tags at all.", "must start with a speaker tag"),
    ("Hello. [S1] Hi.", "line 1"),
    ("[S1] Hi.\n[S2]\n[S1] Bye.", "line 2 of the script: the [S2] turn has no words"),
    ('[S1] Hi. [S2] <break time="1s"/> [S1] Bye.', "[S2] turn has no words"),
    ("[S1] Hi.\n[S3] Who?", "line 2 of the script: unknown tag [S3]"),
    ('[S1] Hi <break time="1.5"/> there', "malformed pause"),
    ("[S1] Hi <pause/> there", "unknown tag"),
    ('[S1] Hi <break time="45s"/> there', "at most 30 s"),
])
def test_bad_scripts_are_refused_with_the_line(text, message):
    with pytest.raises(UserError) as err:
        parse_dialogue(text)
    assert message in str(err.value)


def _engine_words(text: str) -> list[tuple[str, int]]:
    """What the engine's own parser makes of `text`: (word, 0) and ("", pause frames)."""
    entries = parse_script(text, lambda s: [len(s)], -1)
    return [(e.text, 0) if e.tokens else ("", e.padding) for e in entries]


def _mine(script) -> list[tuple[str, int]]:
    return [(i.text, 0) if isinstance(i, ScriptWord) else ("", i.frames)
            for t in script.turns for i in t.items]


pieces = st.sampled_from([
    "Hello", "there,", "how's", "it", "going?", "Well:", "it’s", "fine.", "Oh!", "“quoted”",
    "a-b", "x<y", "3.5", " ", "  ", "\n", '<break time="0.5s"/>', '<break time="2s"/>',
    '<break time="0.01s"/>', "\t"])
turn = st.tuples(st.sampled_from(["[S1]", "[S2]"]),
                 st.lists(pieces, min_size=0, max_size=12),
                 st.sampled_from(["Hi.", "Yes", "no,", "go:on"]))


@settings(max_examples=200, deadline=None)
@given(st.lists(turn, min_size=1, max_size=8))
def test_words_are_the_engines_words_and_round_trip(turns):
    text = " ".join(f"{tag} {' '.join(body)} {last}" for tag, body, last in turns)
    try:
        engine = _engine_words(text)
    except UserError:  # e.g. "x<y" opens a tag that never closes: refused by both
        with pytest.raises(UserError):
            parse_dialogue(text)
        return
    script = parse_dialogue(text)
    assert _mine(script) == engine  # one for one, in order
    parts = [(t.speaker, t.items) for t in script.turns]
    again = parse_dialogue(chunk_text(parts))
    assert _mine(again) == _mine(script)
    assert [t.speaker for t in again.turns] == [t.speaker for t in script.turns]
