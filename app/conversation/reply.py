"""The text side of a reply: the brain streamed into whole speakable words, and those words fed
into Dia2 streams, one stream ("segment") per generation.

`ReplyText` runs the brain on its own thread (the pipeline cancels and joins it when the reply
ends): each text piece goes through
`app.brains.speech_text.WordChunker` (cleaned for speech: no markdown, emoji, URLs...) and complete words are
appended to `words` as they arrive; the last word always ends a sentence, even when the brain
stopped mid-sentence (a length limit). `feed_segment` pushes words into one `Dia2Stream`: it waits
until `min_start` words are there (or the reply is complete) so the audio does not start and
then starve, and it ends the segment after `limit` words, or earlier at a sentence end once
`soft` words are in, so a long reply is split where a speaker would pause.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable

from app.brains.speech_text import WordChunker

log = logging.getLogger(__name__)

_SENTENCE_END = ".!?…"
_CLAUSE_END = ",;:"


class ReplyText:
    """Words of one reply, produced by `source()` (an iterator of text pieces) on a thread.

    Args:
        source: called on the reply thread with `cancel`; returns the pieces (e.g.
            `lambda cancel: brain.reply(history, cancel=cancel)`).
        cancel: set to stop early.
        clock: time source for `first_text_time`.
    """

    def __init__(self, source: Callable[[threading.Event], Iterable[str]], cancel: threading.Event,
                 clock: Callable[[], float] = time.perf_counter) -> None:
        self.words: list[str] = []
        self.done = False
        self.error: BaseException | None = None  # what stopped the brain early, if anything
        self.first_text_time: float | None = None  # clock time of the first non-empty piece
        self.had_text = False  # the brain wrote something other than whitespace
        self._cancel = cancel
        self._clock = clock
        self._cond = threading.Condition()
        self._thread = threading.Thread(target=self._run, args=(source,), name="reply-text",
                                        daemon=True)
        self._thread.start()

    def _run(self, source: Callable[[threading.Event], Iterable[str]]) -> None:
        chunker = WordChunker()
        pieces = None
        try:
            pieces = source(self._cancel)
            for piece in pieces:
                if piece and self.first_text_time is None:
                    self.first_text_time = self._clock()
                if not self.had_text and piece and not piece.isspace():
                    self.had_text = True
                self._add(chunker.feed(piece))
                if self._cancel.is_set():
                    break
        except Exception as exc:  # the brain failed: keep the words that arrived
            self.error = exc
            log.info("brain stopped: %s", exc)
        finally:
            close = getattr(pieces, "close", None)
            if close is not None:
                try:
                    close()
                except Exception:  # noqa: BLE001 - closing a broken generator
                    pass
            try:
                rest = chunker.flush(end_sentence=True)
            except Exception:  # noqa: BLE001
                rest = []
            with self._cond:
                if not self._cancel.is_set():
                    self.words.extend(rest)
                self.done = True
                self._cond.notify_all()

    def _add(self, words: list[str]) -> None:
        if words:
            with self._cond:
                self.words.extend(words)
                self._cond.notify_all()

    def wait_for(self, n: int, timeout: float | None = None,
                 stop: threading.Event | None = None) -> int:
        """Block until `n` words are there, the reply is done, cancelled or `stop` is set;
        return the count."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while (len(self.words) < n and not self.done and not self._cancel.is_set()
                   and not (stop is not None and stop.is_set())):
                wait = 0.05 if deadline is None else min(0.05, deadline - time.monotonic())
                if wait <= 0:
                    break
                self._cond.wait(wait)
            return len(self.words)

    def wake(self) -> None:
        """Wake waiters (after setting the cancel event)."""
        with self._cond:
            self._cond.notify_all()

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the reply thread to end (at most `timeout` s); True if it has."""
        self._thread.join(timeout)
        return not self._thread.is_alive()


def ends_sentence(word: str) -> bool:
    return word.rstrip("\"')")[-1:] in _SENTENCE_END


def ends_clause(word: str) -> bool:
    return word.rstrip("\"')")[-1:] in _SENTENCE_END + _CLAUSE_END


def feed_segment(stream, text: ReplyText, start: int, limit: int, min_start: int,
                 stop: threading.Event) -> int:
    """Push words `start`, `start + 1`, ... of `text` into `stream`, then finish it.

    Returns the index after the last word pushed; `stop` ends the feeding early. The segment
    ends after `limit` words; after 70 % of them it ends at the first sentence end, after 90 %
    at the first clause end.
    """
    text.wait_for(start + max(1, min_start), stop=stop)
    i = start
    try:
        while not stop.is_set():
            if text.wait_for(i + 1, stop=stop) <= i:
                break  # the reply is complete (or cancelled)
            word = text.words[i]
            stream.push_text(("[S1] " if i == start else " ") + word)
            i += 1
            count = i - start
            if count >= limit:
                break
            if (count >= 0.7 * limit and ends_sentence(word)) or (count >= 0.9 * limit and ends_clause(word)):
                break
    finally:
        stream.finish()
    return i
