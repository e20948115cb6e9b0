"""The settings dialog's blocking calls off the GUI thread: testing a chat server ("Test
connection") and reading what the model cache holds (the model list's sizes).

    probe = SettingsProbe(parent)             # owns a QThread with the worker on it
    probe.finished.connect(show)              # (ok, message), delivered on the GUI thread
    probe.test("http://127.0.0.1:11434/v1", "llama3.2")
    probe.scanned.connect(fill)               # ({repo id: CachedModel}, the folder scanned)
    probe.scan("")                            # "" : the standard Hugging Face cache
    probe.close()                             # when the dialog goes away

The test is `OpenAICompatibleBrain.check_connection` (it lists the server's models and says
whether the chosen one is there); the scan is `app.assets.hub.cached_models`. Both run on the
worker's thread through queued signals.
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


def scan_cache(folder: str) -> dict:
    """{repo id: CachedModel} of the Dia2 and Mimi models in `folder` ("": the standard cache);
    empty when the folder cannot be read."""
    from app.assets.hub import cached_models

    try:
        return {m.repo_id: m for m in cached_models(cache_dir=folder or None)}
    except OSError as exc:  # an unreadable folder: say nothing is there
        log.warning("cannot scan the models folder %s: %s", folder, exc)
        return {}


class _ProbeWorker(QObject):
    """Lives on the probe's thread; answers each test with `finished`, each scan with `scanned`."""

    finished = Signal(bool, str)
    scanned = Signal(object, str)
    request = Signal(str, str)
    request_scan = Signal(str)

    def __init__(self) -> None:
        super().__init__()
        self.request.connect(self._run)
        self.request_scan.connect(self._scan)

    @Slot(str)
    def _scan(self, folder: str) -> None:
        try:
            cached = scan_cache(folder)
        except Exception:  # noqa: BLE001 - the list still gets filled
            log.exception("scanning the model cache failed")
            cached = {}
        self.scanned.emit(cached, folder)

    @Slot(str, str)
    def _run(self, url: str, model: str) -> None:
        try:
            ok, message = probe_server(url, model)
        except Exception as exc:  # noqa: BLE001 - a surprise must still reach the button
            log.exception("connection test failed")
            ok, message = False, f"The test failed unexpectedly: {exc}"
        self.finished.emit(ok, message)


class SettingsProbe(WorkerHost):
    """Runs connection tests and cache scans one after another on a thread of its own.
    `close()` waits at most the test's timeouts."""

    finished = Signal(bool, str)  # (the server answered and has the model, what to tell the user)
    scanned = Signal(object, str)  # ({repo id: CachedModel}, the folder scan() was given)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(_ProbeWorker(), "settings-probe", CONNECT_TIMEOUT_S + READ_TIMEOUT_S + 1,
                         parent)
        self._worker.finished.connect(self.finished)
        self._worker.scanned.connect(self.scanned)

    def scan(self, folder: str) -> None:
        """Read what the model cache `folder` holds ("": the standard one); `scanned` answers."""
        self._worker.request_scan.emit(folder)

    def test(self, url: str, model: str) -> None:
        """Start a test; the answer comes as `finished`."""
        self._worker.request.emit(url, model)
