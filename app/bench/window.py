"""The window's responsiveness: the worst event-loop delay while the character speaks.

Opens the real window with the demo models on the sound devices, has the character say a typed
line (the whole path: Dia2 stream, Mimi decode, playback, lit words, waveform), and measures how
late a 10 ms timer on the GUI thread fires meanwhile. A person notices delays above ~50 ms.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from PySide6.QtCore import QEventLoop, QObject, QTimer
from PySide6.QtWidgets import QApplication

from app.conversation.events import State, StateChanged

LINE = ("Hello! I am speaking now so that we can see whether the window stays smooth while a "
        "reply is generated, decoded and played.")


@dataclass(frozen=True)
class WindowBench:
    worst_ms: float  # the largest lateness of a 10 ms GUI timer
    mean_ms: float  # its mean lateness
    ticks: int  # timer firings measured
    seconds: float  # how long the reply took, from the request to the return to listening
    paints: int  # waveform repaints during the reply


def bench_window(input_device=None, output_device=None, timeout: float = 180.0) -> WindowBench:
    """Run one spoken demo reply in the window; raises UserError if the session cannot start."""
    from app.errors import UserError
    from app.settings import AppSettings
    from app.ui.loop_monitor import LoopMonitor
    from app.ui.main_window import MainWindow

    app = QApplication.instance() or QApplication([])
    settings = AppSettings(input_device=input_device, output_device=output_device)
    window = MainWindow(settings, demo=True, save=False)
    window.show()
    loop = QEventLoop()
    monitor = LoopMonitor()
    probe = _Probe(window, monitor, loop)
    window.worker.sessionStarted.connect(probe.started)
    window.worker.sessionFailed.connect(probe.failed)
    window.worker.eventReceived.connect(probe.on_event)
    QTimer.singleShot(int(timeout * 1000), loop.quit)
    paints0 = window.waveform.paints
    QTimer.singleShot(0, window.start_session)
    loop.exec()
    monitor.stop()
    paints = window.waveform.paints - paints0
    window.close()
    app.processEvents()
    if probe.error is not None:
        raise UserError(f"the window could not start a session: {probe.error}")
    if probe.t1 is None:
        raise UserError(f"the reply did not finish within {timeout:.0f} s")
    return WindowBench(round(monitor.worst_ms, 1), round(monitor.mean_ms, 2), monitor.samples,
                       round(probe.t1 - probe.t0, 2), paints)



class _Probe(QObject):
    """Starts the measurement when the session is up and ends it when the reply is over. It lives
    on the GUI thread, so its slots run there."""

    def __init__(self, window, monitor, loop) -> None:
        super().__init__()
        self.window, self.monitor, self.loop = window, monitor, loop
        self.t0: float = 0.0
        self.t1: float | None = None
        self.error: str | None = None

    def started(self, _folder: str) -> None:
        self.t0 = time.perf_counter()
        self.monitor.start()
        self.window.worker.say(LINE)

    def failed(self, message: str) -> None:
        self.error = message
        self.loop.quit()

    def on_event(self, e) -> None:
        if isinstance(e, StateChanged) and e.previous == State.SPEAKING:
            self.t1 = time.perf_counter()
            self.loop.quit()
