"""Progress of a render: words spoken out of the script's words, audio so far, and the time left.

Progress is counted in words, which arrive while a generation runs, so the bar moves within a
long generation too. The time left is the time this run has taken per word, times the words
left (words rendered by an earlier, interrupted run are not counted in the rate).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Progress:
    """Where a render stands."""

    words_done: int  # script words spoken so far (including those of an earlier run)
    words_total: int  # the script's words
    generation: int  # the generation in progress (0-based; == generations when done)
    generations: int  # generations planned
    audio_seconds: float  # episode audio rendered so far
    elapsed: float  # seconds this run has spent rendering (replaying an earlier run excluded)
    seconds_left: float | None  # estimate; None until this run has spoken a word
    replaying: bool = False  # decoding an earlier run's generations again (on --resume)

    @property
    def fraction(self) -> float:
        return self.words_done / self.words_total if self.words_total else 1.0


def estimate_left(words_done: int, words_total: int, words_this_run: int,
                  elapsed: float) -> float | None:
    """Seconds left at this run's pace, or None before its first word."""
    if words_this_run <= 0 or elapsed <= 0:
        return None
    return (words_total - words_done) * elapsed / words_this_run


def clock(seconds: float) -> str:
    """1:05, 12:00, 1:02:03."""
    s = max(0, int(round(seconds)))
    h, rest = divmod(s, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def bar(p: Progress, width: int = 24) -> str:
    """One line: `[#########...............]  38%  gen 3/8  2:41 of audio  4:10 left`."""
    filled = int(round(width * p.fraction))
    left = "…" if p.seconds_left is None else clock(p.seconds_left)
    what = "replaying" if p.replaying else f"gen {min(p.generation + 1, p.generations)}/{p.generations}"
    return (f"[{'#' * filled}{'.' * (width - filled)}] {100 * p.fraction:3.0f}%  {what}  "
            f"{clock(p.audio_seconds)} of audio  {left} left")
