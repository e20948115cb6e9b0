"""The live waveform (microphone above, the character below) and the microphone's level meter.

Both read a `LevelTape` (20 ms peaks, decimated as the audio arrived) when a display-rate timer
fires, never per audio block. The waveform scrolls with the session clock: the last few seconds
to the left of the marked current position, the character's audio already generated but not
yet heard to its right, dimmed.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from PySide6.QtCore import QLineF, QRectF, QSize, Qt, QTimer
from PySide6.QtGui import QColor, QPainter, QPalette, QPen
from PySide6.QtWidgets import QWidget

from app.workers.tape import BIN_S, LevelTape

FRAME_MS = 16  # repaint period (about the display rate)


class WaveformView(QWidget):
    """Two lanes of peak bars around a current-position cursor.

    Args:
        tape: the levels.
        now: returns the session clock (timeline seconds), or None when no session runs.
        back_s / ahead_s: seconds shown before and after the current position.
    """

    def __init__(self, tape: LevelTape, now: Callable[[], float | None], parent=None,
                 back_s: float = 6.0, ahead_s: float = 2.0) -> None:
        super().__init__(parent)
        self.tape = tape
        self.now = now
        self.back_s = back_s
        self.ahead_s = ahead_s
        self.paints = 0  # repaints done (for tests and the frame-rate figure)
        self._timer = QTimer(self)
        self._timer.setInterval(FRAME_MS)
        self._timer.timeout.connect(self.update)
        self.setMinimumHeight(80)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.setToolTip("Microphone (top) and the character's voice (bottom); the line is now")

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt API
        return QSize(640, 120)

    def set_running(self, on: bool) -> None:
        """Scroll (repaint at the display rate) only while a session runs."""
        if on and not self._timer.isActive():
            self._timer.start()
        elif not on:
            self._timer.stop()
            self.update()

    def lanes(self, now: float, bins: int) -> tuple[np.ndarray, np.ndarray]:
        """The peaks drawn for each lane: `bins` values ending `ahead_s` after `now`."""
        span = self.back_s + self.ahead_s
        start = now - self.back_s
        count = int(math.ceil(span / BIN_S))
        mic = self.tape.window("person", start, count)
        voice = self.tape.window("character", start, count)
        if bins >= count:
            return mic, voice
        edges = np.linspace(0, count, bins + 1).astype(int)
        return np.maximum.reduceat(mic, edges[:-1]), np.maximum.reduceat(voice, edges[:-1])

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt API
        self.paints += 1
        pal = self.palette()
        p = QPainter(self)
        w, h = self.width(), self.height()
        p.fillRect(self.rect(), pal.color(QPalette.ColorRole.Base))
        now = self.now()
        mid = h / 2
        span = self.back_s + self.ahead_s
        cursor_x = w * self.back_s / span
        grid = QColor(pal.color(QPalette.ColorRole.Text))
        grid.setAlphaF(0.15)
        p.setPen(QPen(grid, 1))
        p.drawLine(QLineF(0, mid, w, mid))
        if now is not None:
            # second ticks scroll with the clock
            first = math.ceil(now - self.back_s)
            for s in range(first, int(now + self.ahead_s) + 1):
                x = (s - (now - self.back_s)) / span * w
                p.drawLine(QLineF(x, h - 6, x, h))
            bins = max(1, w // 3)
            mic, voice = self.lanes(now, bins)
            step = w / len(mic)
            mic_color = QColor(pal.color(QPalette.ColorRole.Text))
            mic_color.setAlphaF(0.65)
            voice_color = QColor(pal.color(QPalette.ColorRole.Highlight))
            for lane, color, sign in ((mic, mic_color, -1), (voice, voice_color, 1)):
                lines_now, lines_ahead = [], []
                for i, v in enumerate(lane):
                    if v <= 0:
                        continue
                    x = (i + 0.5) * step
                    length = max(1.0, _scale(float(v)) * (mid - 4))
                    line = QLineF(x, mid, x, mid + sign * length)
                    (lines_ahead if x > cursor_x else lines_now).append(line)
                pen = QPen(color, max(1.0, step * 0.7))
                p.setPen(pen)
                p.drawLines(lines_now)
                faded = QColor(color)
                faded.setAlphaF(color.alphaF() * 0.4)
                pen.setColor(faded)
                p.setPen(pen)
                p.drawLines(lines_ahead)
        p.setPen(QPen(pal.color(QPalette.ColorRole.Highlight), 2))
        p.drawLine(QLineF(cursor_x, 0, cursor_x, h))
        label = QColor(pal.color(QPalette.ColorRole.Text))
        label.setAlphaF(0.6)
        p.setPen(label)
        p.drawText(QRectF(6, 2, 200, 16), Qt.AlignmentFlag.AlignLeft, "You")
        p.drawText(QRectF(6, h - 18, 200, 16), Qt.AlignmentFlag.AlignLeft, "Character")
        p.end()


def _scale(peak: float) -> float:
    """Peak (0..1) to bar length (0..1) on a 48 dB scale, so quiet speech still shows."""
    if peak <= 0:
        return 0.0
    db = 20 * math.log10(max(peak, 1e-6))
    return min(1.0, max(0.0, (db + 48) / 48))


class LevelMeter(QWidget):
    """The microphone's level (peak of the last 100 ms, dBFS), redrawn by its own 50 ms timer."""

    def __init__(self, tape: LevelTape, now: Callable[[], float | None], parent=None) -> None:
        super().__init__(parent)
        self.tape = tape
        self.now = now
        self.level = 0.0  # the last level drawn, 0..1 on the meter's scale
        self.setFixedSize(90, 14)
        self.setToolTip("Microphone level")
        self._timer = QTimer(self)
        self._timer.setInterval(50)
        self._timer.timeout.connect(self._tick)

    def set_running(self, on: bool) -> None:
        self._timer.start() if on else self._timer.stop()
        if not on:
            self.level = 0.0
            self.update()

    def _tick(self) -> None:
        now = self.now()
        if now is None:
            return
        level = _scale(float(self.tape.window("person", now - 0.1, 5).max()))
        if abs(level - self.level) > 0.01:
            self.level = level
            self.update()

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt API
        pal = self.palette()
        p = QPainter(self)
        r = self.rect().adjusted(0, 2, -1, -3)
        p.setPen(QPen(pal.color(QPalette.ColorRole.Mid)))
        p.setBrush(pal.color(QPalette.ColorRole.Base))
        p.drawRect(r)
        fill = r.adjusted(1, 1, 0, 0)
        fill.setWidth(int(fill.width() * self.level))
        color = QColor("#d9534f") if self.level > 0.95 else QColor("#4caf50")
        p.fillRect(fill, color)
        p.end()
