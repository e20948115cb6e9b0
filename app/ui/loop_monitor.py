"""Measures how late the GUI thread's event loop runs: a timer that should fire every `period_ms`
notes by how much each firing was late. The worst delay is what a person would feel as a frozen
window (the target is under 50 ms during a conversation turn)."""

from __future__ import annotations

import time

from PySide6.QtCore import QObject, Qt, QTimer


class LoopMonitor(QObject):
    """Start it, run the event loop, read `worst_ms` / `mean_ms`."""

    def __init__(self, period_ms: int = 10, parent=None) -> None:
        super().__init__(parent)
        self.period = period_ms / 1000
        self.worst_ms = 0.0  # largest lateness seen
        self.samples = 0
        self._sum = 0.0
        self._last: float | None = None
        self._timer = QTimer(self)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.setInterval(period_ms)
        self._timer.timeout.connect(self._fired)

    def start(self) -> None:
        self._last = time.perf_counter()
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()

    def _fired(self) -> None:
        now = time.perf_counter()
        if self._last is not None:
            late = max(0.0, (now - self._last - self.period) * 1000)
            self.worst_ms = max(self.worst_ms, late)
            self._sum += late
            self.samples += 1
        self._last = now

    @property
    def mean_ms(self) -> float:
        return self._sum / self.samples if self.samples else 0.0
