"""Replies read from a dialogue script, for recording scripted dialogues.

A script is text with Dia2-style speaker tags: `[S1]` starts the character's lines, `[S2]` the
person's. Tags may start lines or appear inside them; untagged lines continue the previous
speaker; blank lines and lines starting with `#` are ignored. Consecutive lines of one speaker
form one turn. Each `reply` skips the person's turn (which they read aloud) and returns the
character's next turn; when none is left the script is over.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from app.brains.base import Brain, BrainError, Message, is_cancelled
from app.errors import UserError

_TAG = re.compile(r"\[\s*S\s*([12])\s*\]", re.IGNORECASE)
CHARACTER, PERSON = "S1", "S2"


@dataclass(frozen=True)
class ScriptConfig:
    """Where the dialogue script is."""

    kind: ClassVar[str] = "script"

    path: Path  # UTF-8 text file with [S1] (character) and [S2] (person) lines


@dataclass(frozen=True)
class ScriptTurn:
    """One turn of the script."""

    speaker: str  # "S1" (the character) or "S2" (the person)
    text: str  # what is said, tags removed, lines joined by spaces


class ScriptOver(BrainError):
    """The script has no character line left."""


def parse_script(text: str, *, source: str = "the script") -> list[ScriptTurn]:
    """Split script text into turns. Raises UserError for text before the first tag or for a
    script without any [S1] line."""
    turns: list[ScriptTurn] = []
    speaker: str | None = None
    parts: list[str] = []

    def close_turn() -> None:
        said = " ".join(" ".join(parts).split())
        if speaker and said:
            if turns and turns[-1].speaker == speaker:
                turns[-1] = ScriptTurn(speaker, f"{turns[-1].text} {said}")
            else:
                turns.append(ScriptTurn(speaker, said))
        parts.clear()

    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        pos = 0
        for match in _TAG.finditer(line):
            before = line[pos : match.start()].strip()
            if before:
                if speaker is None:
                    raise UserError(
                        f"Line {number} of {source} has text before any [S1]/[S2] tag: start it with [S1] or [S2]."
                    )
                parts.append(before)
            close_turn()
            speaker = f"S{match.group(1)}"
            pos = match.end()
        rest = line[pos:].strip()
        if rest:
            if speaker is None:
                raise UserError(
                    f"Line {number} of {source} has no speaker: start it with [S1] (character) or [S2] (person)."
                )
            parts.append(rest)
    close_turn()
    if not any(t.speaker == CHARACTER for t in turns):
        raise UserError(f"{source} has no [S1] line for the character to say.")
    return turns


class ScriptBrain(Brain):
    """Returns the character's lines of a script, one turn per reply."""

    def __init__(
        self, config: ScriptConfig | None = None, *, turns: Sequence[ScriptTurn] | None = None
    ):
        if turns is None:
            if config is None:
                raise ValueError("ScriptBrain needs a config or turns")
            try:
                text = Path(config.path).read_text(encoding="utf-8")
            except OSError as exc:
                raise UserError(
                    f"Cannot read the dialogue script {config.path}: {exc.strerror}. Check the path."
                ) from exc
            except UnicodeDecodeError as exc:
                raise UserError(
                    f"The dialogue script {config.path} is not UTF-8 text; save it as UTF-8."
                ) from exc
            turns = parse_script(text, source=str(config.path))
        self.turns: tuple[ScriptTurn, ...] = tuple(turns)
        self._next = 0
        self._lock = threading.Lock()

    @classmethod
    def from_text(cls, text: str) -> ScriptBrain:
        """A script brain for script text held in memory."""
        return cls(turns=parse_script(text))

    @property
    def finished(self) -> bool:
        """True when the character has no line left."""
        return all(t.speaker != CHARACTER for t in self.turns[self._next :])

    @property
    def next_person_line(self) -> str | None:
        """What the person should say before the character's next line (None if nothing)."""
        lines = []
        for turn in self.turns[self._next :]:
            if turn.speaker == CHARACTER:
                break
            lines.append(turn.text)
        return " ".join(lines) or None

    @property
    def lines_left(self) -> int:
        """How many character turns remain."""
        return sum(t.speaker == CHARACTER for t in self.turns[self._next :])

    def reset(self) -> None:
        """Start the script again from its first line."""
        with self._lock:
            self._next = 0

    def reply(
        self, history: Sequence[Message], *, cancel: threading.Event | None = None
    ) -> Iterator[str]:
        """Yield the character's next turn (the person's lines before it are skipped).
        Raises ScriptOver when the script has no character line left."""
        if is_cancelled(cancel):
            return
        with self._lock:
            index = next(
                (
                    i
                    for i in range(self._next, len(self.turns))
                    if self.turns[i].speaker == CHARACTER
                ),
                None,
            )
            if index is None:
                raise ScriptOver(
                    f"The dialogue script is over: all {len(self.turns)} turns were used. Load another script or restart it."
                )
            self._next = index + 1
        yield self.turns[index].text
