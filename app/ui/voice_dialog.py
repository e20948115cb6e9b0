"""The voice dialog: record or import a voice sample for a character, listen to it, save it.

Everything that can block runs on a `SampleAudio` (app/workers/sample.py) and answers with a
signal: opening and closing the microphone, decoding an imported file, playing the preview,
writing the sample. While recording, a `QTimer` on the GUI thread asks it for the duration and
level a few times a second (never once per audio block) and stops the recording when it reaches
the longest allowed sample. Saving hands the audio to
`app.conversation.voice_sample.save_voice_sample`, which writes the files (on the worker).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable

import numpy as np
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.conversation.voice_sample import MAX_SECONDS, MIN_SECONDS, save_voice_sample, trim_silence
from app.core import SAMPLE_RATE
from app.errors import UserError
from app.workers.sample import SampleAudio

log = logging.getLogger(__name__)

_REFRESH_MS = 100  # how often the duration and level are repainted
_AUDIO_FILES = "Audio files (*.wav *.flac *.ogg *.mp3);;All files (*)"
NO_MICROPHONE = ("Check that a microphone is connected and allowed, pick another input under "
                 "Devices, or use Import… instead.")


class VoiceDialog(QDialog):
    """Record or import a voice sample for `character_key`, preview it, save it.

    After a successful save `character_key` holds the key of the saved (user) character and the
    dialog is accepted. `busy` is what the worker is doing for it ("" when nothing): "opening"
    or "recording" the microphone, "stopping" it, "importing" a file, "saving".
    """

    def __init__(self, character_key: str, input_device: str | None, output_device: str | None,
                 parent: QWidget | None = None, max_seconds: float = MAX_SECONDS) -> None:
        super().__init__(parent)
        self.character_key = character_key
        self.input_device = input_device
        self.output_device = output_device
        self.max_seconds = max_seconds
        self.audio: np.ndarray | None = None  # [N] float32 at 24 kHz: the sample to save
        self.busy = ""
        self._seconds = 0.0  # recorded so far (while recording)
        self._stop_error = ""  # why the microphone stopped, shown with the recording
        self._save_after_stop = False  # Save was pressed while recording
        self._preview = 0  # the number of the preview playing (0: none)
        self._closed = False
        self.worker = SampleAudio(self)
        self.worker.recordingStarted.connect(self._recording_started)
        self.worker.recorded.connect(self._recorded)
        self.worker.captureFailed.connect(self._capture_failed)
        self.worker.loaded.connect(self._loaded)
        self.worker.called.connect(self._saved_on_worker)
        self.worker.failed.connect(self._failed)
        self.worker.playFinished.connect(self._preview_done)
        self._timer = QTimer(self)
        self._timer.setInterval(_REFRESH_MS)
        self._timer.timeout.connect(self._tick)
        self._build()
        self._update_buttons()

    # -- layout ----------------------------------------------------------------------------------
    def _build(self) -> None:
        self.setWindowTitle(f"Voice for {(self.character_key or 'character').capitalize()}")
        intro = QLabel(
            "Record or import a few seconds (ideally 5 to 15) of one person speaking clearly, "
            "with little background noise. The character will speak in this voice.\n"
            "Only use a voice you have the right to use: your own, or one whose owner agreed."
        )
        intro.setWordWrap(True)
        self.record_button = QPushButton("Record")
        self.record_button.clicked.connect(self.toggle_recording)
        self.import_button = QPushButton("Import…")
        self.import_button.clicked.connect(self.import_dialog)
        self.play_button = QPushButton("Play preview")
        self.play_button.clicked.connect(self.toggle_preview)
        row = QHBoxLayout()
        for b in (self.record_button, self.import_button, self.play_button):
            row.addWidget(b)
        self.duration_label = QLabel("No sample yet")
        self.level = QProgressBar()
        self.level.setRange(0, 100)
        self.level.setTextVisible(False)
        self.level.setMaximumHeight(10)
        self.transcript_edit = QLineEdit()
        self.transcript_edit.setPlaceholderText("What the sample says (optional)")
        self.error_label = QLabel()
        self.error_label.setWordWrap(True)
        self.error_label.setStyleSheet("color: #c0392b;")
        self.error_label.hide()
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save
                                        | QDialogButtonBox.StandardButton.Cancel)
        self.save_button = self.buttons.button(QDialogButtonBox.StandardButton.Save)
        self.buttons.accepted.connect(self.save)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(row)
        layout.addWidget(self.duration_label)
        layout.addWidget(self.level)
        layout.addWidget(QLabel("Transcript:"))
        layout.addWidget(self.transcript_edit)
        layout.addWidget(self.error_label)
        layout.addWidget(self.buttons)
        self.setMinimumWidth(520)

    # -- state -----------------------------------------------------------------------------------
    @property
    def recording(self) -> bool:
        """The microphone is open, or opening (Stop then keeps what arrived)."""
        return self.busy in ("opening", "recording")

    @property
    def previewing(self) -> bool:
        return self._preview != 0

    def duration(self) -> float:
        """Seconds of the current sample (or of the recording in progress)."""
        if self.busy in ("opening", "recording", "stopping"):
            return self._seconds
        return 0.0 if self.audio is None else len(self.audio) / SAMPLE_RATE

    def _usable(self) -> bool:
        return self.audio is not None and MIN_SECONDS <= len(self.audio) / SAMPLE_RATE <= MAX_SECONDS

    def _update_buttons(self) -> None:
        idle = not self.busy and not self.previewing
        self.record_button.setText("Stop" if self.recording else "Record")
        self.record_button.setEnabled(not self.previewing and self.busy in ("", "opening", "recording"))
        self.import_button.setEnabled(idle)
        self.play_button.setText("Stop preview" if self.previewing else "Play preview")
        self.play_button.setEnabled(self.previewing or (not self.busy and self.audio is not None
                                                        and len(self.audio) > 0))
        self.save_button.setEnabled(idle and self._usable())

    def _show_error(self, message: str) -> None:
        self.error_label.setText(message)
        self.error_label.setVisible(bool(message))
        if message:
            self.adjustSize()  # make room for the wrapped text

    def _show_duration(self) -> None:
        seconds = self.duration()
        if self.busy == "opening":
            text = "Opening the microphone…"
        elif self.busy in ("recording", "stopping"):
            text = f"Recording… {seconds:.1f} s (stops at {self.max_seconds:.0f} s)"
        elif self.busy == "importing":
            text = "Reading the file…"
        elif self.audio is None:
            text = "No sample yet"
        elif seconds < MIN_SECONDS:
            text = f"{seconds:.1f} s: too short, at least {MIN_SECONDS:.0f} s are needed"
        elif seconds > MAX_SECONDS:
            text = f"{seconds:.1f} s: too long, keep it under {MAX_SECONDS:.0f} s"
        else:
            text = f"Sample: {seconds:.1f} s"
        self.duration_label.setText(text)

    def _set_busy(self, busy: str) -> None:
        self.busy = busy
        self._show_duration()
        self._update_buttons()

    def _set_audio(self, audio: np.ndarray) -> None:
        self.audio = trim_silence(audio)
        self._set_busy("")

    def _failed(self, what: str, message: str) -> None:
        """A request of this dialog's failed on the worker."""
        if self._closed:
            return
        self._save_after_stop = False
        self._set_busy("")
        prefix = {"record": "Cannot record: ", "read": "", "call": ""}[what]
        hint = f"\n{NO_MICROPHONE}" if what == "record" else ""
        self._show_error(f"{prefix}{message}{hint}")

    # -- recording -------------------------------------------------------------------------------
    def toggle_recording(self) -> None:
        if self.recording:
            self.stop_recording()
        else:
            self.start_recording()

    def start_recording(self) -> None:
        """Open the microphone (on the worker); `recording` is true from now on."""
        if self.busy or self.previewing:
            return
        self._show_error("")
        self._seconds, self._stop_error = 0.0, ""
        self._set_busy("opening")
        self.worker.record(self.input_device, self.max_seconds)

    def _recording_started(self, _name: str) -> None:
        if self._closed or self.busy != "opening":
            return
        self._set_busy("recording")
        self._timer.start()

    def _capture_failed(self, error: str) -> None:
        if self.recording:
            self._stop_error = f"Recording stopped: {error}"
            self.stop_recording()

    def _tick(self) -> None:
        self._seconds, peak, full = self.worker.progress()
        db = 20 * math.log10(max(peak, 1e-6))
        self.level.setValue(int(min(100, max(0, (db + 60) / 60 * 100))))
        self._show_duration()
        if full:
            self.stop_recording()

    def stop_recording(self) -> None:
        """Close the microphone (on the worker); the sample arrives with `recorded`."""
        if not self.recording:
            return
        self._timer.stop()
        self.level.setValue(0)
        self._set_busy("stopping")
        self.worker.stop_recording()

    def _recorded(self, audio: np.ndarray) -> None:
        if self._closed:
            return
        self._set_audio(audio)
        if self._stop_error:
            self._show_error(self._stop_error)
        if self._save_after_stop:
            self._save_after_stop = False
            self.save()

    # -- importing -------------------------------------------------------------------------------
    def import_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Import a voice sample", "", _AUDIO_FILES)
        if path:
            self.import_file(path)

    def import_file(self, path: str) -> None:
        """Read an audio file (on the worker); the sample arrives with `loaded`."""
        if self.busy or self.previewing:
            return
        self._show_error("")
        self._set_busy("importing")
        self.worker.read(path)

    def _loaded(self, audio: np.ndarray, _path: str) -> None:
        if self._closed:
            return
        self._set_audio(audio)
        if len(self.audio) / SAMPLE_RATE > MAX_SECONDS:
            self._show_error(f"The file is longer than {MAX_SECONDS:.0f} s; cut a shorter piece "
                             "of clear speech from it (e.g. with Audacity) and import that.")

    # -- preview ---------------------------------------------------------------------------------
    def toggle_preview(self) -> None:
        if self.previewing:
            self.stop_preview()
        else:
            self.start_preview()

    def start_preview(self) -> None:
        """Play the sample on the output device (on the worker)."""
        if self.busy or self.previewing or self.audio is None or not len(self.audio):
            return
        self._show_error("")
        self._preview = self.worker.play(self.audio, self.output_device)
        self._update_buttons()

    def stop_preview(self) -> None:
        """Silence the preview now; the device closes on the worker, before its next request."""
        if not self.previewing:
            return
        self.worker.stop_playing()
        self._preview = 0
        self._update_buttons()

    def _preview_done(self, number: int, error: str) -> None:
        if self._closed or number != self._preview:
            return  # an older preview, already stopped
        self._preview = 0
        if error:
            self._show_error(f"Cannot play: {error}")
        self._update_buttons()

    # -- saving ----------------------------------------------------------------------------------
    def save(self) -> None:
        """Write the sample (on the worker); the dialog is accepted once it is on disk."""
        if self.recording or self.busy == "stopping":
            self._save_after_stop = True  # save what the recording holds once it arrives
            self.stop_recording()
            return
        if self.busy:
            return
        self.stop_preview()
        if self.audio is None:
            self._show_error("Record or import a voice sample first.")
            return
        try:
            fn, args = self._save_job(self.audio, self.transcript_edit.text().strip() or None)
        except UserError as exc:
            self._show_error(str(exc))
            return
        self._show_error("")
        self._set_busy("saving")
        self.worker.call(fn, *args)

    def _save_job(self, audio: np.ndarray, transcript: str | None) -> tuple[Callable, tuple]:
        """The function that writes the sample, and its arguments (run on the worker)."""
        if not self.character_key:
            raise UserError("No character is selected; close this and choose one first.")
        return save_voice_sample, (self.character_key, audio, transcript)

    def _saved_on_worker(self, result) -> None:
        if self._closed or self.busy != "saving":
            return
        self._set_busy("")
        self._saved(result)

    def _saved(self, path) -> None:
        """The sample is on disk at `path`: remember the character, accept."""
        self.character_key = path.stem.lower()
        self.accept()

    def done(self, result: int) -> None:
        """Closing (saved or not) stops the microphone and the preview and ends the worker."""
        self._closed = True
        self._timer.stop()
        self.worker.close()
        super().done(result)
