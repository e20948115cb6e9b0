"""Replies typed by the person: the character says exactly what was typed.

The caller (a text box, the terminal) hands typed text to `submit`; `reply` waits until text is
there, the reply is cancelled or the brain is closed. Waiting wakes at least every 50 ms to
notice a cancel event, because a queue cannot wait on an event too.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import ClassVar

from app.brains.base import Brain, BrainError, Message, is_cancelled
from app.errors import UserError

_WAKE_S = 0.05
_CLOSED = object()


@dataclass(frozen=True)
class TypedConfig:
    """How long to wait for typed text."""

    kind: ClassVar[str] = "typed"

    wait_timeout_s: float | None = None  # give up waiting after this many seconds; None = never


class TypedBrain(Brain):
    """The character says what the person types, one submitted text per reply."""

    def __init__(self, config: TypedConfig | None = None) -> None:
        self.config = config or TypedConfig()
        self._queue: queue.Queue[object] = queue.Queue()
        self._closed = False

    def submit(self, text: str) -> None:
        """Queue `text` as the character's next reply. Raises UserError for blank text."""
        if not text.strip():
            raise UserError("Type something for the character to say.")
        if self._closed:
            raise UserError("This chat has ended; start a new one to type more.")
        self._queue.put(text.strip())

    @property
    def pending(self) -> int:
        """How many typed texts are waiting."""
        return self._queue.qsize()

    def reply(
        self, history: Sequence[Message], *, cancel: threading.Event | None = None
    ) -> Iterator[str]:
        """Wait for the next typed text and yield it; yield nothing if cancelled or closed."""
        limit = self.config.wait_timeout_s
        deadline = None if limit is None else time.monotonic() + limit
        while not self._closed and not is_cancelled(cancel):
            wait = _WAKE_S if deadline is None else min(_WAKE_S, deadline - time.monotonic())
            if wait <= 0:
                raise BrainError(
                    f"Nothing was typed within {limit:g} s. Type the character's line and send it."
                )
            try:
                item = self._queue.get(timeout=wait)
            except queue.Empty:
                continue
            if item is _CLOSED:
                return
            if is_cancelled(cancel):  # keep the text for the next reply
                self._requeue_front(item)
                return
            yield str(item)
            return

    def _requeue_front(self, item: object) -> None:
        with self._queue.mutex:
            self._queue.queue.appendleft(item)
            self._queue.not_empty.notify()

    def close(self) -> None:
        """Stop waiting: a pending or later `reply` returns without text."""
        self._closed = True
        self._queue.put(_CLOSED)
