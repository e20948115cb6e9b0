"""Testing a chat server off the GUI thread: the settings dialog's "Test connection" button.

    probe = ConnectionProbe(parent)           # owns a QThread with the worker on it
    probe.finished.connect(show)              # (ok, message), delivered on the GUI thread
    probe.test("http://127.0.0.1:11434/v1", "llama3.2")
    probe.close()                             # when the dialog goes away

The request itself is `OpenAICompatibleBrain.check_connection` (it lists the server's models and
says whether the chosen one is there), run on the worker's thread through a queued signal.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QObject, Signal, Slot

from app.brains.openai_compat import OpenAICompatibleBrain, OpenAICompatibleConfig
from app.errors import UserError
from app.workers.host import WorkerHost

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_S = 5.0  # how long a test waits for the connection
READ_TIMEOUT_S = 10.0  # how long a test waits for the server's answer


def probe_server(url: str, model: str) -> tuple[bool, str]:
    """(ok, message) for a chat server at `url` offering `model` ("" means the default)."""
    values: dict = {"connect_timeout_s": CONNECT_TIMEOUT_S, "read_timeout_s": READ_TIMEOUT_S}
    if url.strip():
        values["base_url"] = url.strip()
    if model.strip():
        values["model"] = model.strip()
    try:
        config = OpenAICompatibleConfig(**values)
    except UserError as exc:
        return False, str(exc)
    status = OpenAICompatibleBrain(config).check_connection()
    log.info("connection test of %s: %s", config.base_url, status.message)
    return status.ok, status.message


class _ProbeWorker(QObject):
    """Lives on the probe's thread; answers each request with `finished`."""

    finished = Signal(bool, str)
    request = Signal(str, str)

    def __init__(self) -> None:
        super().__init__()
        self.request.connect(self._run)

    @Slot(str, str)
    def _run(self, url: str, model: str) -> None:
        try:
            ok, message = probe_server(url, model)
        except Exception as exc:  # noqa: BLE001 - a surprise must still reach the button
            log.exception("connection test failed")
            ok, message = False, f"The test failed unexpectedly: {exc}"
        self.finished.emit(ok, message)


class ConnectionProbe(WorkerHost):
    """Runs connection tests one after another on a thread of its own. `close()` waits at most
    the test's timeouts."""

    finished = Signal(bool, str)  # (the server answered and has the model, what to tell the user)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(_ProbeWorker(), "connection-probe", CONNECT_TIMEOUT_S + READ_TIMEOUT_S + 1,
                         parent)
        self._worker.finished.connect(self.finished)

    def test(self, url: str, model: str) -> None:
        """Start a test; the answer comes as `finished`."""
        self._worker.request.emit(url, model)
