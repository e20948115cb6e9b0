"""A dialogue script as turns: `[S1] Hello! <break time="0.5s"/> [S2] Hi.` -> two turns.

Words follow the engine's rules exactly (`app.tts.script`): `’` becomes `'` and `:` a space,
words split on white space and before `<`, `[S1]` / `[S2]` start a turn (also when a word
follows without a space), `<break time="Xs"/>` is
a pause of round(X * 12.5) frames. So the words found here are the words Dia2 is given, one for
one, and `chunk_text` writes any run of them back as script text that parses to the same words.

On top of the engine's rules, a dialogue script must be a dialogue: every word belongs to a turn
(the script starts with a tag), and every turn says something. Lines whose first visible
character is `#` are comments. Mistakes are reported with their line number.

A pause written at the start of a turn (`[S2] <break time="1s"/> Well...`) is kept at the end of
the turn before: Dia2 gets the same entries in the same order (the tag travels with the next
word), and so every turn after the first starts with a word, and every pause follows one.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from app.core import FRAME_RATE
from app.errors import UserError
from app.tts.script import SPEAKER_TAGS, normalize

_BREAK = re.compile(r'<break\s+time="([0-9]+(?:\.[0-9]*)?)s"\s*/?>')
MAX_BREAK_SECONDS = 30.0  # the engine's limit on one pause


@dataclass(frozen=True)
class ScriptWord:
    """One word to be spoken."""

    text: str  # the word as Dia2 gets it (after the engine's character replacements)
    index: int  # its position among all the script's words (0-based)


@dataclass(frozen=True)
class Pause:
    """A `<break time="..."/>`."""

    frames: int  # the pause in frames (12.5 a second)


Item = ScriptWord | Pause


@dataclass(frozen=True)
class DialogueTurn:
    """One turn: a speaker and what they say."""

    index: int  # position in the script (0-based)
    speaker: int  # 1 for [S1], 2 for [S2]
    items: tuple[Item, ...]  # words and pauses in order; at least one word
    line: int  # line of the script where the turn's tag is (1-based)

    @property
    def words(self) -> tuple[ScriptWord, ...]:
        return tuple(i for i in self.items if isinstance(i, ScriptWord))

    @property
    def tag(self) -> str:
        return f"[S{self.speaker}]"


@dataclass(frozen=True)
class DialogueScript:
    """A parsed script."""

    turns: tuple[DialogueTurn, ...]  # at least one

    @property
    def words(self) -> tuple[ScriptWord, ...]:
        return tuple(w for t in self.turns for w in t.words)


def _strip_comments(text: str) -> str:
    """Blank out comment lines, keeping every other character where it was (for line numbers)."""
    out = []
    for line in text.splitlines(keepends=True):
        body = line.rstrip("\r\n")
        if body.lstrip().startswith("#"):
            line = " " * len(body) + line[len(body):]
        out.append(line)
    return "".join(out)


def parse_dialogue(text: str, source: str = "the script") -> DialogueScript:
    """Split a dialogue script into turns; UserError (with the line) for anything malformed."""
    buf = normalize(_strip_comments(text))  # both keep the length: positions stay valid
    return _DialogueParser(buf, source).parse()


class _DialogueParser:
    """One parse of a script: the turns so far and the turn being read."""

    def __init__(self, buf: str, source: str) -> None:
        self.buf = buf  # the script, comments blanked and normalised
        self.source = source  # what the errors call the script
        self.turns: list[DialogueTurn] = []  # the finished turns
        self.speaker: int | None = None  # the speaker of the turn being read; None before a tag
        self.tag_line = 0  # the line of its tag
        self.items: list[Item] = []  # its words and pauses so far
        self.words = 0  # words so far in the whole script (the next word's index)
        self.tags = 0  # speaker tags so far

    def parse(self) -> DialogueScript:
        """Read the words and pauses in order; each speaker tag closes the turn before."""
        buf, pos, n = self.buf, 0, len(self.buf)
        while True:
            while pos < n and buf[pos].isspace():
                pos += 1
            if pos >= n:
                break
            pos = self._pause(pos) if buf[pos] == "<" else self._word(pos)
        if self.tags == 0:
            raise UserError(f"{self.source} has nothing to say; write turns like "
                            '"[S1] Hello there! [S2] Hi, how are you?"')
        self._close()
        return DialogueScript(tuple(self.turns))

    def _line(self, pos: int) -> int:
        return self.buf.count("\n", 0, pos) + 1

    def _pause(self, pos: int) -> int:
        """Read the `<...>` tag at `pos` (only a break is allowed); return where it ends."""
        end = self.buf.find(">", pos)
        tag = self.buf[pos:] if end < 0 else self.buf[pos : end + 1]
        match = _BREAK.fullmatch(tag)
        if match is None:
            raise UserError(f"line {self._line(pos)} of {self.source}: {_tag_error(tag)}")
        seconds = float(match.group(1))
        if seconds > MAX_BREAK_SECONDS:
            raise UserError(f"line {self._line(pos)} of {self.source}: {tag} is too long; a pause "
                            f"can be at most {MAX_BREAK_SECONDS:g} s")
        frames = int(round(seconds * FRAME_RATE))
        if frames > 0:
            if self.speaker is None:
                raise UserError(_untagged(self.source, self._line(pos)))
            self.items.append(Pause(frames))
        return end + 1

    def _word(self, pos: int) -> int:
        """Read the word or speaker tag at `pos`; return where it ends."""
        buf, n, end = self.buf, len(self.buf), pos
        while end < n and not buf[end].isspace() and buf[end] != "<":
            end += 1
        word = buf[pos:end]
        if word[:4] in SPEAKER_TAGS and len(word) > 4:  # "[S1]Hello": the tag, then the word
            end = pos + 4
            word = word[:4]
        if word in SPEAKER_TAGS:
            self._close()
            self.speaker, self.tag_line, self.items = int(word[2]), self._line(pos), []
            self.tags += 1
        elif word.startswith("[") and word.endswith("]"):
            raise UserError(f"line {self._line(pos)} of {self.source}: unknown tag {word}; only "
                            "[S1] (the first speaker) and [S2] (the second) exist")
        elif self.speaker is None:
            raise UserError(_untagged(self.source, self._line(pos)))
        else:
            self.items.append(ScriptWord(word, self.words))
            self.words += 1
        return end

    def _close(self) -> None:
        """Finish the turn being read (if any): it must have words; pauses before its first word
        go to the end of the turn before (the same entries in the same order for Dia2)."""
        speaker, items, turns = self.speaker, self.items, self.turns
        if speaker is None:
            return
        if not any(isinstance(i, ScriptWord) for i in items):
            raise UserError(
                f"line {self.tag_line} of {self.source}: the [S{speaker}] turn has no words; "
                f"write what [S{speaker}] says after the tag, or remove the tag"
            )
        lead = 0
        while turns and isinstance(items[lead], Pause):
            lead += 1
        if lead:
            last = turns[-1]
            turns[-1] = DialogueTurn(last.index, last.speaker, last.items + tuple(items[:lead]),
                                     last.line)
        turns.append(DialogueTurn(len(turns), speaker, tuple(items[lead:]), self.tag_line))


def _untagged(source: str, line: int) -> str:
    return (f"line {line} of {source}: the script must start with a speaker tag; begin each turn "
            "with [S1] or [S2]")


def _tag_error(tag: str) -> str:
    shown = tag if len(tag) <= 40 else tag[:37] + "..."
    if shown.startswith("<break"):
        return f'malformed pause {shown!r}: write it as <break time="1.5s"/>'
    return f'unknown tag {shown!r}: the only tag in angle brackets is <break time="1.5s"/>'


def pause_tag(frames: int) -> str:
    """The break tag that parses back to `frames` frames."""
    return f'<break time="{frames / FRAME_RATE:g}s"/>'


def chunk_text(parts: Sequence[tuple[int, Sequence[Item]]]) -> str:
    """Script text for runs of items, each `(speaker, items)`: every run starts with its tag.

    Runs of one turn that follow each other are written as one run (no tag in between)."""
    out: list[str] = []
    for speaker, items in parts:
        out.append(f"[S{speaker}]")
        for item in items:
            out.append(item.text if isinstance(item, ScriptWord) else pause_tag(item.frames))
    return " ".join(out)
