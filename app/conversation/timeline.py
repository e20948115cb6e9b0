"""The session timeline: where each turn's audio lies in the recording (seconds, 0 = start).

Live ("realtime"), the timeline is the pipeline clock since the session began: a reply starts
where its first sample was heard. Headless ("virtual"), nothing happens in real time, so turns
are laid end to end with a `gap_s` pause between them, as in a recorded dialogue.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class Timeline:
    """Maps turns onto the recording's time axis.

    Args:
        clock: the pipeline's clock.
        realtime: True for live sessions, False for headless ones.
        gap_s: headless: the pause between turns.
    """

    def __init__(self, clock: Callable[[], float] = time.perf_counter, *, realtime: bool = True,
                 gap_s: float = 0.4) -> None:
        self.clock = clock
        self.realtime = realtime
        self.gap_s = gap_s
        self.t0 = clock()  # clock time of timeline 0
        self.cursor = 0.0  # end of the latest audio placed
        self._lock = threading.Lock()

    def now(self) -> float:
        return self.clock() - self.t0 if self.realtime else self.cursor

    def at(self, clock_time: float) -> float:
        """Timeline seconds of a clock time (realtime)."""
        return clock_time - self.t0

    def _next(self) -> float:
        return self.cursor + self.gap_s if self.cursor > 0 else 0.0

    def place_person(self, duration: float) -> float:
        """Where a person's turn of `duration` s that just ended starts."""
        with self._lock:
            start = max(0.0, self.now() - duration) if self.realtime else self._next()
            self.cursor = max(self.cursor, start + duration)
            return start

    def place_reply(self, heard_clock: float | None) -> float:
        """Where a reply whose first sample was heard at `heard_clock` starts."""
        with self._lock:
            if self.realtime:
                return self.at(heard_clock if heard_clock is not None else self.clock())
            return self._next()

    def ended(self, start: float, duration: float) -> None:
        """A turn placed at `start` lasted `duration` s."""
        with self._lock:
            self.cursor = max(self.cursor, start + duration)
