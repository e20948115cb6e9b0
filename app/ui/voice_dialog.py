"""The voice dialog: record or import a voice sample for a character, listen to it, save it.

Recording opens a `Capture` on the chosen input device; its reader thread appends the 24 kHz
samples to a list under a lock and notes the loudest sample. A `QTimer` on the GUI thread shows
the duration and level a few times a second (never once per audio block) and stops the
recording when it reaches the longest allowed sample. The preview plays on a small thread that
owns a `Playback`; it reports back through a queued signal. Saving hands the audio to
`app.conversation.voice_sample.save_voice_sample`, which writes the files.
"""

from __future__ import annotations

import logging
import math
import threading

import numpy as np
from PySide6.QtCore import QTimer, Signal
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

from app.audio.files import read_audio
from app.conversation.voice_sample import MAX_SECONDS, MIN_SECONDS, trim_silence
from app.core import SAMPLE_RATE
from app.errors import UserError

log = logging.getLogger(__name__)

_REFRESH_MS = 100  # how often the duration and level are repainted
_AUDIO_FILES = "Audio files (*.wav *.flac *.ogg *.mp3);;All files (*)"


class VoiceDialog(QDialog):
    """Record or import a voice sample for `character_key`, preview it, save it.

    After a successful save `character_key` holds the key of the saved (user) character and the
    dialog is accepted.
    """

    preview_finished = Signal(int, str)  # (preview number, "" when it ended normally or the error)

    def __init__(self, character_key: str, input_device: str | None, output_device: str | None,
                 parent: QWidget | None = None, max_seconds: float = MAX_SECONDS) -> None:
        super().__init__(parent)
        self.character_key = character_key
        self.input_device = input_device
        self.output_device = output_device
        self.max_seconds = max_seconds
        self.audio: np.ndarray | None = None  # [N] float32 at 24 kHz: the sample to save
        self._lock = threading.Lock()
        self._parts: list[np.ndarray] = []  # written by the capture reader thread
        self._captured = 0  # samples in _parts
        self._peak = 0.0  # loudest sample since the last repaint
        self._capture_error: UserError | None = None
        self._capture = None
        self._preview_thread: threading.Thread | None = None
        self._preview_stop = threading.Event()
        self._playback = None
        self._previews = 0  # previews started; a late signal of an older one is ignored
        self._timer = QTimer(self)
        self._timer.setInterval(_REFRESH_MS)
        self._timer.timeout.connect(self._tick)
        self.preview_finished.connect(self._preview_done)
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
        return self._capture is not None

    @property
    def previewing(self) -> bool:
        return self._preview_thread is not None

    def duration(self) -> float:
        """Seconds of the current sample (or of the recording in progress)."""
        if self.recording:
            with self._lock:
                return self._captured / SAMPLE_RATE
        return 0.0 if self.audio is None else len(self.audio) / SAMPLE_RATE

    def _usable(self) -> bool:
        return self.audio is not None and MIN_SECONDS <= len(self.audio) / SAMPLE_RATE <= MAX_SECONDS

    def _update_buttons(self) -> None:
        self.record_button.setText("Stop" if self.recording else "Record")
        self.record_button.setEnabled(not self.previewing)
        self.import_button.setEnabled(not self.recording and not self.previewing)
        self.play_button.setText("Stop preview" if self.previewing else "Play preview")
        self.play_button.setEnabled(not self.recording and self.audio is not None
                                    and len(self.audio) > 0)
        self.save_button.setEnabled(not self.recording and not self.previewing and self._usable())

    def _show_error(self, message: str) -> None:
        self.error_label.setText(message)
        self.error_label.setVisible(bool(message))
        if message:
            self.adjustSize()  # make room for the wrapped text

    def _show_duration(self) -> None:
        seconds = self.duration()
        if self.recording:
            text = f"Recording… {seconds:.1f} s (stops at {self.max_seconds:.0f} s)"
        elif self.audio is None:
            text = "No sample yet"
        elif seconds < MIN_SECONDS:
            text = f"{seconds:.1f} s: too short, at least {MIN_SECONDS:.0f} s are needed"
        elif seconds > MAX_SECONDS:
            text = f"{seconds:.1f} s: too long, keep it under {MAX_SECONDS:.0f} s"
        else:
            text = f"Sample: {seconds:.1f} s"
        self.duration_label.setText(text)

    def _set_audio(self, audio: np.ndarray) -> None:
        self.audio = trim_silence(audio)
        self._show_duration()
        self._update_buttons()

    # -- recording -------------------------------------------------------------------------------
    def toggle_recording(self) -> None:
        if self.recording:
            self.stop_recording()
        else:
            self.start_recording()

    def start_recording(self) -> None:
        from app.audio.capture import Capture, CaptureConfig

        self._show_error("")
        with self._lock:
            self._parts, self._captured, self._peak = [], 0, 0.0
        self._capture_error = None
        try:
            capture = Capture(CaptureConfig(device=self.input_device, output_rates=(SAMPLE_RATE,)),
                              on_chunk=self._on_chunk, on_error=self._on_capture_error)
            capture.start()
        except UserError as exc:
            self._show_error(f"Cannot record: {exc}\nCheck that a microphone is connected and "
                             "allowed, pick another input under Devices, or use Import… instead.")
            return
        self._capture = capture
        self._timer.start()
        self._show_duration()
        self._update_buttons()

    def _on_chunk(self, chunk) -> None:  # capture reader thread
        x = chunk.at(SAMPLE_RATE)
        with self._lock:
            room = round(self.max_seconds * SAMPLE_RATE) - self._captured
            if room <= 0 or not len(x):
                return
            x = x[:room]
            self._parts.append(np.array(x, dtype=np.float32))
            self._captured += len(x)
            self._peak = max(self._peak, chunk.peak)

    def _on_capture_error(self, error: UserError) -> None:  # capture reader thread
        self._capture_error = error

    def _tick(self) -> None:
        with self._lock:
            peak, self._peak = self._peak, 0.0
            full = self._captured >= round(self.max_seconds * SAMPLE_RATE)
        db = 20 * math.log10(max(peak, 1e-6))
        self.level.setValue(int(min(100, max(0, (db + 60) / 60 * 100))))
        self._show_duration()
        if self._capture_error is not None:
            error = self._capture_error
            self.stop_recording()
            self._show_error(f"Recording stopped: {error}")
        elif full:
            self.stop_recording()

    def stop_recording(self) -> None:
        capture, self._capture = self._capture, None
        self._timer.stop()
        if capture is not None:
            capture.stop()  # delivers what is left before returning
        self.level.setValue(0)
        with self._lock:
            parts = self._parts
            self._parts = []
        self._set_audio(np.concatenate(parts) if parts else np.zeros(0, np.float32))

    # -- importing -------------------------------------------------------------------------------
    def import_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Import a voice sample", "", _AUDIO_FILES)
        if path:
            self.import_file(path)

    def import_file(self, path: str) -> None:
        self._show_error("")
        try:
            audio, _ = read_audio(path, SAMPLE_RATE)
        except UserError as exc:
            self._show_error(str(exc))
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
        from app.audio.playback import Playback, PlaybackConfig

        if self.audio is None or not len(self.audio):
            return
        self._show_error("")
        try:
            playback = Playback(PlaybackConfig(device=self.output_device)).start()
        except UserError as exc:
            self._show_error(f"Cannot play: {exc}")
            return
        self._playback = playback
        self._preview_stop = threading.Event()
        self._previews += 1
        audio, stop, number = self.audio, self._preview_stop, self._previews

        def run() -> None:
            error = ""
            try:
                playback.write(audio, more=False)
                while not stop.is_set() and not playback.wait(timeout=0.1):
                    pass
            except UserError as exc:
                error = str(exc)
            finally:
                playback.stop()
            self.preview_finished.emit(number, error)

        self._preview_thread = threading.Thread(target=run, name="voice-preview", daemon=True)
        self._preview_thread.start()
        self._update_buttons()

    def stop_preview(self) -> None:
        """Silence the preview now and wait for its thread."""
        thread = self._preview_thread
        if thread is None:
            return
        self._preview_stop.set()
        if self._playback is not None:
            self._playback.flush()  # a write waiting on a full buffer returns
        thread.join()
        self._preview_done(self._previews, "")

    def _preview_done(self, number: int, error: str) -> None:
        if number != self._previews or self._preview_thread is None:
            return  # an older preview, already handled
        self._preview_thread.join()
        self._preview_thread = None
        self._playback = None
        if error:
            self._show_error(f"Preview stopped: {error}")
        self._update_buttons()

    # -- saving ----------------------------------------------------------------------------------
    def save(self) -> None:
        from app.conversation.voice_sample import save_voice_sample

        if self.recording:
            self.stop_recording()
        self.stop_preview()
        if self.audio is None:
            self._show_error("Record or import a voice sample first.")
            return
        if not self.character_key:
            self._show_error("No character is selected; close this and choose one first.")
            return
        try:
            path = save_voice_sample(self.character_key, self.audio,
                                     self.transcript_edit.text().strip() or None)
        except UserError as exc:
            self._show_error(str(exc))
            return
        self.character_key = path.stem.lower()
        self.accept()

    def done(self, result: int) -> None:
        """Closing (saved or not) stops the microphone and the preview first."""
        if self.recording:
            self.stop_recording()
        self.stop_preview()
        super().done(result)
