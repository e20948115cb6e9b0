"""A QObject that owns one worker object on a QThread of its own (the dialogs' helpers).

Qt aborts the process when a QThread object is destroyed while its thread runs. A host therefore
ends its thread however it goes away: `close()` by its owner, the destruction of its parent (Qt
emits the parent's `destroyed` before deleting its children, the host and its QThread among them),
or the application quitting.
"""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication, QObject, QThread


class WorkerHost(QObject):
    """Moves `worker` to a new thread named `name` and starts it; `close()` ends the thread,
    waiting at most `close_wait_s` for the work in progress, then drops the worker. Idempotent.
    Subclasses forward the worker's signals and put requests to it through queued signals."""

    def __init__(self, worker: QObject, name: str, close_wait_s: float,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._thread = QThread(self)
        self._thread.setObjectName(name)
        self._worker = worker
        self._worker.moveToThread(self._thread)
        self._close_wait_ms = int(1000 * close_wait_s)
        self._closed = False
        if parent is not None:
            parent.destroyed.connect(self.close)
        app = QCoreApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.close)
        self._thread.start()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._thread.isRunning():
            self._thread.quit()
            self._thread.wait(self._close_wait_ms)
        self._after_thread()
        self._worker.deleteLater()

    def _after_thread(self) -> None:
        """Runs in `close()` once the thread has ended (the worker can be called directly)."""
