"""What the window shows about the conversation at a glance: the state badge and the latency line.

`StatusModel` turns pipeline events into what the person sees (a pure function of the events, so
it is easy to test); `StateBadge` draws it as a coloured dot and a word.
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPalette
from PySide6.QtWidgets import QWidget

from app.conversation.events import Hearing, Interrupted, State, StateChanged, TurnTimings

LABELS = {
    "starting": ("Starting…", "#9e9e9e"),
    "listening": ("Listening", "#4caf50"),
    "hearing": ("Hearing you", "#2196f3"),
    "thinking": ("Thinking", "#ff9800"),
    "speaking": ("Speaking", "#9c27b0"),
    "interrupted": ("Interrupted", "#f44336"),
    "muted": ("Muted", "#9e9e9e"),
    "stopped": ("Stopped", "#9e9e9e"),
}


class StatusModel:
    """The state shown and the last turn's latency, from the pipeline's events."""

    def __init__(self) -> None:
        self.pipeline = State.IDLE
        self.hearing = False
        self.interrupted = False  # the last reply was cut; shown until the next state change
        self.muted = False
        self.running = False
        self.timings: TurnTimings | None = None

    def feed(self, event) -> bool:
        """Take an event; True if what is shown changed."""
        if isinstance(event, StateChanged):
            self.pipeline = event.state
            if event.state != State.LISTENING or event.previous != State.SPEAKING:
                self.interrupted = False
            if event.state != State.LISTENING:
                self.hearing = False
            return True
        if isinstance(event, Hearing):
            self.hearing = event.active
            return True
        if isinstance(event, Interrupted):
            self.interrupted = True
            return True
        if isinstance(event, TurnTimings):
            self.timings = event
            return True
        return False

    @property
    def key(self) -> str:
        """One of `LABELS`."""
        if not self.running:
            return "stopped" if self.pipeline == State.STOPPED else "starting"
        if self.muted and self.pipeline == State.LISTENING:
            return "muted"
        if self.interrupted and self.pipeline == State.LISTENING and not self.hearing:
            return "interrupted"
        if self.hearing and self.pipeline in (State.LISTENING, State.IDLE):
            return "hearing"
        if self.pipeline in (State.RECOGNISING, State.THINKING):
            return "thinking"
        if self.pipeline == State.SPEAKING:
            return "speaking"
        if self.pipeline == State.STOPPED:
            return "stopped"
        return "listening"

    def latency_text(self) -> str:
        """The last reply's stages, in seconds after the end of the person's speech."""
        t = self.timings
        if t is None:
            return ""
        parts = [("words", t.words_ready_s), ("text", t.first_text_s), ("audio", t.first_frame_s),
                 ("heard", t.first_heard_s)]
        shown = [f"{name} {value * 1000:.0f} ms" for name, value in parts if value is not None]
        return "last turn: " + " · ".join(shown) if shown else ""


def thinking_detail(seconds: float) -> str:
    """What the badge adds to "Thinking" after `seconds` of it: the seconds, from the second one
    on, so a slow reply model shows that it is still at work rather than frozen."""
    return f"… {int(seconds)} s" if seconds >= 1 else ""


class StateBadge(QWidget):
    """A coloured dot and the state's name (with a detail such as the seconds spent thinking)."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.key = "starting"
        self.detail = ""
        self.setMinimumWidth(130)

    def set_key(self, key: str, detail: str = "") -> None:
        if key != self.key or detail != self.detail:
            self.key, self.detail = key, detail
            self.setAccessibleName(self.text)
            self.update()

    @property
    def text(self) -> str:
        return LABELS[self.key][0] + self.detail

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt API
        return QSize(140, 22)

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt API
        label, color = self.text, LABELS[self.key][1]
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QColor(color))
        d = 10
        p.drawEllipse(4, (self.height() - d) // 2, d, d)
        p.setPen(self.palette().color(QPalette.ColorRole.WindowText))
        p.drawText(self.rect().adjusted(20, 0, 0, 0), Qt.AlignmentFlag.AlignVCenter, label)
        p.end()
