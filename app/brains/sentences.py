"""A cap on the number of sentences of a streamed reply.

Small local models ignore "answer in one to three short sentences" and ramble until the token
limit, which the voice would then read to the end. `SentenceLimit` counts sentence ends in the
streamed text and says where to stop: `take(piece)` returns the part of `piece` to keep and
whether the reply is complete. A sentence ends at `.`, `!`, `?` or `…` after a letter, a closing
quote or bracket, followed by whitespace, so "3.5", "e.g.x" and list numbers ("1. ") do not
count, nor do the periods of abbreviations ("e.g.", "U.S.", a single letter). Text inside a code
fence is not counted (the speech cleaner drops it anyway).
"""

from __future__ import annotations

import re

_END = re.compile(r"(?<=[^\W\d_]|[\"')\]])[.!?…]+[\"')\]]*(?=\s)")
_FENCE = "```"


class SentenceLimit:
    """Counts sentence ends across streamed pieces; `max_sentences` None never stops."""

    def __init__(self, max_sentences: int | None) -> None:
        if max_sentences is not None and max_sentences < 1:
            raise ValueError("max_sentences must be at least 1")
        self.max_sentences = max_sentences
        self.count = 0  # sentences completed so far
        self._text = ""  # everything taken so far (to see ends that span two pieces)

    def take(self, piece: str) -> tuple[str, bool]:
        """(the part of `piece` to keep, True when the reply should stop after it)."""
        if self.max_sentences is None:
            return piece, False
        start = len(self._text)
        self._text += piece
        # an end is known once the whitespace after it has arrived: ends whose whitespace came
        # in an earlier piece were counted then (end < start)
        for match in _END.finditer(self._text, max(0, start - 8)):
            end = match.end()
            if end < start or self._in_fence(match.start()) or self._abbreviation(match.start()):
                continue
            self.count += 1
            if self.count >= self.max_sentences:
                self._text = self._text[:end]
                return piece[: end - start], True
        return piece, False

    def _abbreviation(self, pos: int) -> bool:
        """A period after a single letter or a dotted word ("e.g.", "i.e.", "U.S.")."""
        if self._text[pos] != ".":
            return False
        before = self._text[max(0, pos - 20):pos].split()
        word = before[-1] if before else ""
        return len(word) == 1 or "." in word

    def _in_fence(self, pos: int) -> bool:
        return self._text.count(_FENCE, 0, pos) % 2 == 1
