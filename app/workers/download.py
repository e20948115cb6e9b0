"""The model download off the GUI thread: plans, downloads, and reports through Qt signals.

Move a `DownloadWorker` to a QThread and call its slots through queued signals (`plan`, then
`download`); `cancel()` may be called from any thread and stops a running download within a
fraction of a second, keeping partial files so the next `download` resumes them.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from PySide6.QtCore import QObject, Signal, Slot

from app.assets.fetch import DownloadCancelled, Downloader, DownloadPlan, RateMeter, plan_download
from app.errors import UserError

log = logging.getLogger(__name__)


class DownloadWorker(QObject):
    """Plans and runs the download of `repo_ids` (see app.assets.fetch) in its own thread."""

    planned = Signal(object)  # the DownloadPlan
    progress = Signal(object, object, float, float)  # done bytes, total bytes, bytes/s, s left
    finished = Signal(object)  # dict: requested name -> local Path
    failed = Signal(str)  # an actionable message
    cancelled = Signal()  # stopped on request; partial files kept

    def __init__(
        self,
        repo_ids: list[str],
        *,
        endpoint: str | None = None,
        cache_dir: str | Path | None = None,
    ) -> None:
        super().__init__()
        self._repo_ids = list(repo_ids)
        self._endpoint = endpoint
        self._cache_dir = cache_dir
        self._plan: DownloadPlan | None = None
        self._cancel = threading.Event()

    def cancel(self) -> None:
        """Stop the running download (thread-safe)."""
        self._cancel.set()

    @Slot()
    def plan(self) -> None:
        """Ask the hub what is needed; emits `planned` or `failed`."""
        try:
            self._plan = plan_download(self._repo_ids, self._endpoint, self._cache_dir)
        except UserError as exc:
            self.failed.emit(str(exc))
            return
        except Exception as exc:  # noqa: BLE001 - shown to the user rather than lost in a thread
            log.exception("planning the download failed")
            self.failed.emit(f"planning the download failed unexpectedly: {exc}")
            return
        self.planned.emit(self._plan)

    @Slot()
    def download(self) -> None:
        """Fetch what the plan lacks (after `plan` succeeded); emits `progress` while it runs,
        then `finished`, `cancelled` or `failed`."""
        if self._plan is None:
            self.failed.emit("nothing to download yet: the list of files could not be fetched.")
            return
        meter = RateMeter()

        def on_progress(done: int, total: int) -> None:
            rate, left = meter.add(done, total)
            self.progress.emit(done, total, rate, left)

        try:
            paths = Downloader(self._plan, on_progress=on_progress, cancel=self._cancel).run()
        except DownloadCancelled:
            self._cancel = threading.Event()  # a fresh one for the next attempt
            self.cancelled.emit()
            return
        except UserError as exc:
            self.failed.emit(str(exc))
            return
        except Exception as exc:  # noqa: BLE001
            log.exception("the download failed")
            self.failed.emit(f"the download failed unexpectedly: {exc}")
            return
        self.finished.emit(paths)
