"""The first-run "Download models" dialog: what will be fetched, how big it is, and the download
itself with progress, speed, time left, cancel and resume.

The work happens on a `ModelDownload` (app/workers/download.py), the worker host every dialog
uses for its blocking calls; this dialog only shows its signals.
`exec()` returns Accepted once everything is on disk, and `paths` then maps each requested name to
its local file or folder.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.assets.fetch import DownloadPlan, format_duration, format_size
from app.workers.download import ModelDownload

log = logging.getLogger(__name__)

_BAR_STEPS = 1000  # the progress bar counts in thousandths: sizes overflow a Qt int


class DownloadDialog(QDialog):
    """Explains and runs the download of the models `repo_ids` name (see app.assets.fetch)."""

    def __init__(
        self,
        repo_ids: list[str],
        parent: QWidget | None = None,
        endpoint: str | None = None,
        *,
        cache_dir: str | Path | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Download models")
        self.setMinimumWidth(760)
        self.paths: dict[str, Path] = {}
        self.plan: DownloadPlan | None = None
        self.state = "planning"  # planning, ready, downloading, cancelled, failed, done
        self._build()

        self.worker = ModelDownload(list(repo_ids), self, endpoint=endpoint, cache_dir=cache_dir)
        self.worker.planned.connect(self._on_planned)
        self.worker.progress.connect(self._on_progress)
        self.worker.finished.connect(self._on_finished)
        self.worker.failed.connect(self._on_failed)
        self.worker.cancelled.connect(self._on_cancelled)
        self.worker.plan()

    def _build(self) -> None:
        self.intro = QLabel("Asking the model server what is needed…")
        self.intro.setWordWrap(True)
        self.table = QTableWidget(0, 4)
        self.table.setHorizontalHeaderLabels(["File", "Repository", "Size", "On this computer"])
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(
            QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.bar = QProgressBar()
        self.bar.setRange(0, _BAR_STEPS)
        self.bar.setValue(0)
        self.status = QLabel()
        self.error = QLabel()
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #c0392b;")
        self.error.setVisible(False)
        self.download_button = QPushButton("Download")
        self.download_button.setEnabled(False)
        self.download_button.setDefault(True)
        self.download_button.clicked.connect(self._start)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self._cancel)
        self.close_button = QPushButton("Close")
        self.close_button.clicked.connect(self._close_clicked)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        for button in (self.download_button, self.cancel_button, self.close_button):
            buttons.addWidget(button)
        layout = QVBoxLayout(self)
        for widget in (self.intro, self.table, self.summary, self.bar, self.status, self.error):
            layout.addWidget(widget)
        layout.addLayout(buttons)

    # --- worker signals -------------------------------------------------------------------

    def _on_planned(self, plan: DownloadPlan) -> None:
        self.plan = plan
        self.state = "ready"
        where = plan.where
        self.intro.setText(
            f"The voice models are downloaded once from {where} into the standard Hugging Face "
            f"cache, {plan.cache_dir}, which other tools share. After that the app works offline. "
            "You can cancel at any time; the download resumes where it stopped."
        )
        self.table.setRowCount(len(plan.files))
        for row, f in enumerate(plan.files):
            if f.complete:
                there = "already there"
            elif f.cached_bytes:
                there = f"{format_size(f.cached_bytes)} of it"
            else:
                there = "—"
            for col, text in enumerate((f.filename, f.repo_id, format_size(f.size), there)):
                self.table.setItem(row, col, QTableWidgetItem(text))
        self.summary.setText(
            f"Total {format_size(plan.total_bytes)}; {format_size(plan.cached_bytes)} already "
            f"there; {format_size(plan.remaining_bytes)} to download."
        )
        self._show_bar(plan.cached_bytes, plan.total_bytes)
        self.status.setText("")
        self.download_button.setText("Download")
        self.download_button.setEnabled(True)
        self.error.setVisible(False)

    def _on_progress(self, done: int, total: int, rate: float, left: float) -> None:
        self._show_bar(done, total)
        parts = [f"{format_size(done)} of {format_size(total)}"]
        if rate >= 0:
            parts.append(f"{format_size(rate)}/s")
        if left >= 0:
            parts.append(f"about {format_duration(left)} left")
        self.status.setText(" · ".join(parts))

    def _on_finished(self, paths: dict[str, Path]) -> None:
        self.paths = dict(paths)
        self.state = "done"
        if self.plan is not None:
            self._show_bar(self.plan.total_bytes, self.plan.total_bytes)
        self.status.setText("Done: every model is on this computer. The app now works offline.")
        self.download_button.setEnabled(False)
        self.cancel_button.setEnabled(False)
        self.close_button.setText("Continue")
        self.close_button.setDefault(True)
        self.close_button.setFocus()

    def _on_failed(self, message: str) -> None:
        self.state = "failed"
        if self.plan is None:
            button, hint = "Retry", "Press Retry to try again."
        else:
            button, hint = "Resume", "Press Resume to try again; what arrived so far is kept."
        self.error.setText(f"{message}\n\n{hint}")
        self.error.setVisible(True)
        self.status.setText("")
        self.download_button.setText(button)
        self.download_button.setEnabled(True)
        self.cancel_button.setEnabled(False)

    def _on_cancelled(self) -> None:
        self.state = "cancelled"
        self.status.setText("Cancelled. The part already downloaded is kept: Resume continues.")
        self.download_button.setText("Resume")
        self.download_button.setEnabled(True)
        self.cancel_button.setEnabled(False)

    # --- buttons --------------------------------------------------------------------------

    def _start(self) -> None:
        self.error.setVisible(False)
        self.download_button.setEnabled(False)
        if self.plan is None:  # planning failed before: ask again
            self.state = "planning"
            self.intro.setText("Asking the model server what is needed…")
            self.worker.plan()
            return
        self.state = "downloading"
        self.status.setText("Starting…")
        self.cancel_button.setEnabled(True)
        self.worker.download()

    def _cancel(self) -> None:
        self.cancel_button.setEnabled(False)
        self.status.setText("Cancelling…")
        self.worker.cancel()

    def _close_clicked(self) -> None:
        if self.state == "done":
            self.accept()
        else:
            self.reject()

    def _show_bar(self, done: int, total: int) -> None:
        self.bar.setValue(_BAR_STEPS if total <= 0 else round(_BAR_STEPS * done / total))
        self.bar.setFormat(f"{format_size(done)} / {format_size(total)}")

    def done(self, result: int) -> None:
        """Close: a running download is cancelled (its partial files stay) and the thread ends."""
        self.worker.close()
        super().done(result)

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        self.worker.close()
        super().closeEvent(event)
