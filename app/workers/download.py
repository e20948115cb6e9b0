"""The model download off the GUI thread: plans, downloads, and reports through Qt signals.

    download = ModelDownload(repo_ids, parent)   # a WorkerHost: the DownloadWorker on its thread
    download.planned.connect(...)                # the DownloadPlan, on the GUI thread
    download.plan(); download.download()         # queued to the worker, one after the other
    download.cancel()                            # any thread; partial files kept for a resume
    download.close()

`cancel()` stops a running download within a fraction of a second, keeping partial files so the
next `download` resumes them.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from PySide6.QtCore import QObject, Signal, Slot

from app.assets.fetch import DownloadCancelled, Downloader, DownloadPlan, RateMeter, plan_download
from app.errors import UserError
from app.workers.host import WorkerHost

log = logging.getLogger(__name__)


class DownloadWorker(QObject):
    """Plans and runs the download of `repo_ids` (see app.assets.fetch) in its own thread."""

    planned = Signal(object)  # the DownloadPlan
    progress = Signal(object, object, float, float)  # done bytes, total bytes, bytes/s, s left
    finished = Signal(object)  # dict: requested name -> local Path
    failed = Signal(str)  # an actionable message
    cancelled = Signal()  # stopped on request; partial files kept
    request_plan = Signal()
    request_download = Signal()

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
        self.request_plan.connect(self.plan)
        self.request_download.connect(self.download)

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


class ModelDownload(WorkerHost):
    """The download dialog's helper: a `DownloadWorker` for `repo_ids` on a thread of its own.
    `close()` cancels a running download first, then waits at most `CLOSE_WAIT_S` for a plan
    in flight to return."""

    planned = Signal(object)  # the DownloadPlan
    progress = Signal(object, object, float, float)  # done bytes, total bytes, bytes/s, s left
    finished = Signal(object)  # dict: requested name -> local Path
    failed = Signal(str)  # an actionable message
    cancelled = Signal()  # stopped on request; partial files kept

    CLOSE_WAIT_S = 30.0

    def __init__(self, repo_ids: list[str], parent: QObject | None = None, *,
                 endpoint: str | None = None, cache_dir: str | Path | None = None) -> None:
        super().__init__(DownloadWorker(repo_ids, endpoint=endpoint, cache_dir=cache_dir),
                         "model-download", self.CLOSE_WAIT_S, parent)
        for name in ("planned", "progress", "finished", "failed", "cancelled"):
            getattr(self._worker, name).connect(getattr(self, name))

    def plan(self) -> None:
        """Ask the hub what is needed; `planned` or `failed` answers."""
        self._worker.request_plan.emit()

    def download(self) -> None:
        """Fetch what the plan lacks; `progress`, then `finished`, `cancelled` or `failed`."""
        self._worker.request_download.emit()

    def cancel(self) -> None:
        """Stop a running download (thread-safe)."""
        self._worker.cancel()

    def close(self) -> None:
        self.cancel()
        super().close()
