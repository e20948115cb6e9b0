"""Reply text made fit for speech, whole words at a time, as it streams.

A TTS that consumes words as they arrive must never receive half a word, a markdown marker,
an emoji, a URL or a Dia2 control tag. `WordChunker` takes text pieces as a model streams them,
waits until a cut is safe (after whitespace, outside unfinished code fences, tags and links),
cleans what lies before the cut with `app.brains.speech_clean` and hands out complete words.
`clean_for_speech` is the same process run on a whole text at once, so both always agree.

Line breaks become sentence ends (a list item or heading without final punctuation gets a
period); a free-standing dash becomes a comma, and stray punctuation joins the word before it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from app.brains.speech_clean import LINEBREAK, speech_tokens

_TAG_START = re.compile(r"<[A-Za-z/!|]")
# Unfinished tags and links, as the tag and link patterns of speech_clean would continue them.
_TAG_OPEN = re.compile(r"<[A-Za-z/!|][^<>\n]{0,200}")
_BRACKET = re.compile(r"!?\[")
_LINK_OPEN = re.compile(r"!?\[[^\[\]\n]{0,300}(?:\](?:\([^)\s]*)?)?")
_MARKERS_ONLY = re.compile(r"[ \t]*(?:(?:#{1,6}|>+|[-*+•‣◦▪]|\d{1,3}[.)])[ \t]+)*")
_ENDS_CLAUSE = ".!?,;:…"
_CLOSERS = "\"')"


def _open_construct_start(buf: str) -> int:
    """Index where an unfinished construct starts in `buf` (or len(buf) if none)."""
    starts = [len(buf)]
    fences = [m.start() for m in re.finditer("```", buf)]
    if len(fences) % 2:
        starts.append(fences[-1])
    think = buf.rfind("<think>")
    if think != -1 and buf.find("</think>", think) == -1:
        starts.append(think)
    for m in _TAG_START.finditer(buf):
        if _TAG_OPEN.fullmatch(buf, m.start()):  # may still become a tag as more text comes
            starts.append(m.start())
            break
    for m in _BRACKET.finditer(buf):
        if _LINK_OPEN.fullmatch(buf, m.start()):  # may still become a link as more text comes
            starts.append(m.start())
            break
    return min(starts)


class WordChunker:
    """Turns streamed text pieces into complete words, cleaned for speech.

    `feed(piece)` returns the words that are now complete (possibly none); `flush()` returns the
    rest at the end of the reply and resets the chunker for the next one. With `clean=False`
    it only splits on whitespace. A word is handed out once the next word has started, because
    a following line break or lone punctuation mark may still change its ending.
    """

    def __init__(self, *, clean: bool = True) -> None:
        self._clean = clean
        self._reset()

    def _reset(self) -> None:
        self._buf = ""
        self._line_start = True
        self._held: str | None = None

    def feed(self, piece: str) -> list[str]:
        """Add a piece of text; return the words completed by it."""
        self._buf += piece
        cut = self._safe_cut() if self._clean else _last_space_cut(self._buf, len(self._buf))
        if cut == 0:
            return []
        block, self._buf = self._buf[:cut], self._buf[cut:]
        if not self._clean:
            return block.split()
        out = self._take(speech_tokens(block, line_start=self._line_start, final=False))
        # still at a line start if the block's last line held only markers ("- ", "> ", "1. ")
        newline = block.rfind("\n")
        at_start = newline >= 0 or self._line_start
        self._line_start = at_start and _MARKERS_ONLY.fullmatch(block[newline + 1 :]) is not None
        if self._held is not None and self._buf[:1].isalnum():
            out.append(self._held)  # the next token is a word: nothing can change this one
            self._held = None
        return out

    def _safe_cut(self) -> int:
        """The last position after whitespace such that no construct spans it."""
        limit = _open_construct_start(self._buf)
        while True:
            cut = _last_space_cut(self._buf, limit)
            # a construct closed only after the cut (e.g. "<think>a b</think>c") spans it
            inner = _open_construct_start(self._buf[:cut])
            if inner >= cut:
                return cut
            limit = inner

    def flush(self, *, end_sentence: bool = False) -> list[str]:
        """Return the remaining words at the end of the text, and start afresh.

        `end_sentence`: make the last word end a sentence (a reply cut off mid-sentence, by a
        length limit, still ends the way a speaker ends: "and then," becomes "and then.")."""
        if not self._clean:
            words = self._buf.split()
            self._reset()
            return words
        out = self._take(speech_tokens(self._buf, line_start=self._line_start, final=True))
        if self._held is not None:
            out.append(_ended(self._held) if end_sentence else self._held)
        self._reset()
        return out

    def _take(self, tokens: list[str]) -> list[str]:
        out: list[str] = []
        for token in tokens:
            if token == LINEBREAK:
                if self._held is not None and not _ends_clause(self._held):
                    self._held += "."
            elif any(ch.isalnum() for ch in token):
                if self._held is not None:
                    out.append(self._held)
                self._held = token
            elif self._held is not None and not _ends_clause(self._held):
                self._held += _punctuation_mark(token)
        return out


def _last_space_cut(buf: str, limit: int) -> int:
    """The largest index <= limit that follows a whitespace character (0 if none)."""
    cut = limit
    while cut > 0 and not buf[cut - 1].isspace():
        cut -= 1
    return cut


def _ended(word: str) -> str:
    """`word` ending a sentence: its clause mark becomes a period, or a period is added."""
    core = word.rstrip(_CLOSERS)
    closers = word[len(core):]
    if core[-1:] in ".!?…":
        return word
    return core.rstrip(",;:–—-") + "." + closers


def _ends_clause(word: str) -> bool:
    stripped = word.rstrip(_CLOSERS)
    return bool(stripped) and stripped[-1] in _ENDS_CLAUSE


def _punctuation_mark(token: str) -> str:
    """The mark a free-standing punctuation token leaves on the word before it ("" = none)."""
    for mark in ("?", "!"):
        if mark in token:
            return mark
    if "…" in token or "..." in token:
        return "..."
    for mark in (".", ",", ";", ":"):
        if mark in token:
            return mark
    if token in ("-", "–", "—"):
        return ","
    return ""


def speech_words(pieces: Iterable[str]) -> Iterator[str]:
    """Yield the cleaned words of streamed text `pieces` as soon as each one is complete."""
    chunker = WordChunker()
    for piece in pieces:
        yield from chunker.feed(piece)
    yield from chunker.flush()


def clean_for_speech(text: str) -> str:
    """Return `text` as plain spoken words: no markdown, code, emoji, URLs, tags or lists."""
    return " ".join(speech_words([text]))
