"""Scripts: `[S1] Hello! <break time="0.5s"/> [S2] Hi.` -> state-machine entries.

Parsing is incremental (`ScriptParser.feed` as text streams in, `close` at the end) so that a
streamed script yields exactly the entries of the whole script parsed at once.

Rules (those of the published runtime): `’` becomes `'` and `:` a space; words split on white
space; a speaker tag is encoded together with the next word as `"[S1] word"`; the first word gets
the `[S1]` token put in front unless its tokens already start with it; a word's padding is its
token count; a pause tag becomes an empty entry with padding round(seconds * 12.5).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from app.core import FRAME_RATE
from app.errors import UserError
from app.tts.state_machine import Entry

SPEAKER_TAGS = ("[S1]", "[S2]")
_BREAK = re.compile(r'<break\s+time="([0-9]+(?:\.[0-9]*)?)s"\s*/?>')
_MAX_BREAK_SECONDS = 30.0


def normalize(text: str) -> str:
    """Apply the reference's character replacements."""
    return text.replace("\u2019", "'").replace(":", " ")


class ScriptParser:
    """Turns script text into entries as it arrives.

    `feed` returns the entries that are complete (a word is complete once white space or a tag
    follows it); `close` returns the rest and checks that the script said something.
    `insert_speaker1=False` leaves the first word's tokens as written: for text that continues
    a dialogue already under way (a later part of a long script, after its prefix), whose first
    turn may well be `[S2]`.
    """

    def __init__(self, encode: Callable[[str], list[int]], speaker1_id: int, *,
                 insert_speaker1: bool = True) -> None:
        self._encode = encode
        self._speaker1 = speaker1_id
        self._buffer = ""
        self._pending_speaker: str | None = None
        self._first_word = insert_speaker1
        self.words = 0  # entries with tokens produced so far
        self._closed = False

    def feed(self, text: str) -> list[Entry]:
        if self._closed:
            raise RuntimeError("the script was already closed")
        self._buffer += normalize(text)
        return self._drain(final=False)

    def close(self) -> list[Entry]:
        entries = self._drain(final=True)
        self._closed = True
        if self.words == 0:
            raise UserError(
                'the script has no words to speak; write e.g. "[S1] Hello there! [S2] Hi!"'
            )
        return entries

    def _drain(self, *, final: bool) -> list[Entry]:
        out: list[Entry] = []
        buf = self._buffer
        pos = 0
        n = len(buf)
        while True:
            while pos < n and buf[pos].isspace():
                pos += 1
            if pos >= n:
                break
            if buf[pos] == "<":
                close = buf.find(">", pos)
                if close < 0:
                    if not final:
                        break
                    raise UserError(_tag_error(buf[pos:]))
                tag = buf[pos : close + 1]
                match = _BREAK.fullmatch(tag)
                if match is None:
                    raise UserError(_tag_error(tag))
                seconds = float(match.group(1))
                if seconds > _MAX_BREAK_SECONDS:
                    raise UserError(f"{tag}: a pause can be at most {_MAX_BREAK_SECONDS:g} s")
                padding = int(round(seconds * FRAME_RATE))
                if padding > 0:
                    out.append(Entry(tokens=(), text="", padding=padding))
                pos = close + 1
                continue
            end = pos
            while end < n and not buf[end].isspace() and buf[end] != "<":
                end += 1
            if end >= n and not final:
                break  # the word may go on in the next piece of text
            word = buf[pos:end]
            pos = end
            self._word(word, out)
        self._buffer = buf[pos:]
        return out

    def _word(self, word: str, out: list[Entry]) -> None:
        if word in SPEAKER_TAGS:
            self._pending_speaker = word
            return
        if word.startswith("[") and word.endswith("]"):
            raise UserError(
                f"unknown tag {word}: only [S1] (the first speaker) and [S2] (the second) exist"
            )
        text = f"{self._pending_speaker} {word}" if self._pending_speaker else word
        self._pending_speaker = None
        tokens = self._encode(text)
        if self._first_word:
            if not tokens or tokens[0] != self._speaker1:
                tokens.insert(0, self._speaker1)
            self._first_word = False
        self.words += 1
        out.append(Entry(tokens=tuple(tokens), text=word, padding=len(tokens)))


def _tag_error(tag: str) -> str:
    shown = tag if len(tag) <= 40 else tag[:37] + "..."
    if shown.startswith("<break"):
        return f'malformed pause {shown!r}: write it as <break time="1.5s"/>'
    return f'unknown tag {shown!r}: the only tag in angle brackets is <break time="1.5s"/>'


def parse_script(text: str, encode: Callable[[str], list[int]], speaker1_id: int, *,
                 insert_speaker1: bool = True) -> list[Entry]:
    """Parse a whole script at once (`insert_speaker1`: see `ScriptParser`)."""
    parser = ScriptParser(encode, speaker1_id, insert_speaker1=insert_speaker1)
    entries = parser.feed(text)
    entries += parser.close()
    return entries
