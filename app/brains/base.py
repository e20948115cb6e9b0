"""The common shape of every reply source ("brain").

A brain turns the conversation so far into the character's next reply, streamed as text pieces
as they become available, so speech synthesis can start before the reply is complete. Brains
yield raw text; callers clean it for speech with `app.brains.speech_text.speech_words`.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Literal

from app.errors import UserError

Role = Literal["system", "user", "assistant"]
ROLES: tuple[str, ...] = ("system", "user", "assistant")


class BrainError(UserError):
    """A reply could not be produced; the message says why and what to do.

    It is a `UserError` because every cause we report (server not running, wrong model name,
    missing weights, reply cut off by the network) is something the user can act on.
    """


@dataclass(frozen=True)
class Message:
    """One turn of the conversation as the brain sees it."""

    role: Role  # "system" (instructions), "user" (the person) or "assistant" (the character)
    text: str  # what was said, as plain text

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ValueError(f"message role must be one of {ROLES}, not {self.role!r}")


class Brain(ABC):
    """Where the character's replies come from.

    `reply` is a generator: it yields text pieces as they arrive. It stops early, without
    error, when `cancel` is set (checked between pieces); closing the generator also stops the
    work behind it. One reply at a time per brain.

    Threads: a brain that starts threads of its own owns them. `abort()` makes a reply that is
    blocked (waiting on a server, say) return soon, from another thread; `close()` stops the
    reply in flight and joins every thread the brain started, each within a bound, so nothing
    of it runs after the session is closed.
    """

    # whether the replies are computed on this machine's CPU/GPU in this process, beside Dia2
    # (a local language model), which takes some of the cores from Dia2 (app.threads)
    computes_here: bool = False

    @abstractmethod
    def reply(
        self, history: Sequence[Message], *, cancel: threading.Event | None = None
    ) -> Iterator[str]:
        """Yield the character's next reply to `history` (oldest first) in pieces."""

    def abort(self) -> None:  # noqa: B027 - brains that never block need nothing here
        """Make the reply in flight (if any) return soon; safe from any thread, at any time.

        Callers set the reply's cancel event first; this only unblocks what cannot watch it."""

    def close(self) -> None:  # noqa: B027 - brains without resources need no cleanup
        """Stop the reply in flight, join the brain's threads (within a bound) and release what
        the brain holds (connections, model memory, waiting readers)."""

    def __enter__(self) -> Brain:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def is_cancelled(cancel: threading.Event | None) -> bool:
    """True when a cancel event was given and has been set."""
    return cancel is not None and cancel.is_set()


def trim_history(history: Sequence[Message], max_messages: int) -> list[Message]:
    """Keep the system messages and the newest `max_messages` other messages, in order."""
    if max_messages < 1:
        raise ValueError("max_messages must be at least 1")
    systems = [m for m in history if m.role == "system"]
    others = [m for m in history if m.role != "system"]
    return systems + others[-max_messages:]
