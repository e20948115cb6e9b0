"""The dialogue panel: load or paste a script, pick or record the two voices, render it with
progress and the time left, listen, and export the files.

The render runs on the `DialogueRenderer`'s thread (app/workers/dialogue.py); its progress and
result arrive as queued signals. Rendering always resumes: after Cancel (or closing), Render
continues from the last finished generation when the script, voices and seed are unchanged.
Recording a voice reuses the character voice dialog, saving the sample as a file instead of
into a character. Listening (reading the mix, opening the speaker, playing) and exporting (copying
the files) run on a `SampleAudio` (app/workers/sample.py), the voice dialog's helper.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QDialog,
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.audio.files import write_audio
from app.conversation.voice_sample import check_voice_audio
from app.core import SAMPLE_RATE
from app.dialogue.outputs import export_episode
from app.dialogue.progress import clock
from app.dialogue.script import parse_dialogue
from app.errors import UserError
from app.paths import dialogues_root
from app.ui.voice_dialog import VoiceDialog
from app.workers.dialogue import DialogueJob, DialogueRenderer
from app.workers.sample import SampleAudio

log = logging.getLogger(__name__)

_SCRIPTS = "Scripts (*.txt);;All files (*)"
_AUDIO = "Audio files (*.wav *.flac *.ogg *.mp3);;All files (*)"
EXAMPLE = ('[S1] Hello and welcome to the show! [S2] Thanks for having me. '
           '<break time="0.5s"/> [S1] So, tell us how it all started.')


class RecordVoiceDialog(VoiceDialog):
    """The voice dialog, saving the sample to a file for one speaker of a dialogue."""

    def __init__(self, speaker: int, folder: Path, input_device, output_device,
                 parent: QWidget | None = None) -> None:
        super().__init__("", input_device, output_device, parent)
        self.setWindowTitle(f"Voice for [S{speaker}]")
        self.speaker = speaker
        self.folder = folder
        self.saved: Path | None = None  # the file written by Save

    def _save_job(self, audio: np.ndarray, transcript: str | None) -> tuple[Callable, tuple]:
        path = self.folder / f"S{self.speaker}-{time.strftime('%Y%m%d-%H%M%S')}.wav"
        return write_voice_file, (path, audio)

    def _saved(self, path: Path) -> None:
        self.saved = path
        self.accept()


def write_voice_file(path: Path, audio: np.ndarray) -> Path:
    """Check a recorded voice sample and write it to `path` as 16-bit WAV (on a worker)."""
    write_audio(path, check_voice_audio(audio), SAMPLE_RATE, subtype="PCM_16")
    return path


class DialoguePanel(QDialog):
    """Record a dialogue of any length (see the module docstring).

    Args:
        tts: the `TtsChoice` of the models to render with.
        input_device, output_device: for recording voices and listening.
        folder: where rendered dialogues and recorded voices go by default.
    """

    playFinished = Signal(int, str)  # (listen number, "" or what went wrong), once it ended
    exported = Signal(object)  # the copies export_to() made (list of Path)

    def __init__(self, tts, input_device: str | None = None, output_device: str | None = None,
                 parent: QWidget | None = None, folder: Path | None = None) -> None:
        super().__init__(parent)
        self.tts = tts
        self.input_device = input_device
        self.output_device = output_device
        self.folder = folder or dialogues_root()
        self.source = "the script"  # the loaded file's name, for messages and the transcript
        self.voices: dict[int, Path] = {}
        self.result = None  # the last finished EpisodeResult
        self.rendering = False
        self._listen = 0  # the number of the play under way (0: none)
        self.renderer = DialogueRenderer(self)
        self.renderer.progress.connect(self._progress)
        self.renderer.finished.connect(self._finished)
        self.renderer.failed.connect(self._failed)
        self.renderer.cancelled.connect(self._cancelled)
        self.audio = SampleAudio(self)
        self.audio.playFinished.connect(self._listen_done)
        self.audio.called.connect(self._exported)
        self.audio.failed.connect(self._export_failed)
        self._build()
        self._update()

    # -- layout ----------------------------------------------------------------------------------
    def _build(self) -> None:
        self.setWindowTitle("Record a dialogue")
        top = self._script_row()
        grid = self._voice_grid()
        out_row = self._output_row()
        run_row = self._run_row()
        self.error_label = QLabel()
        self.error_label.setWordWrap(True)
        self.error_label.setStyleSheet("color: #c0392b;")
        self.error_label.hide()
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.editor, 1)
        layout.addLayout(grid)
        layout.addLayout(out_row)
        layout.addLayout(run_row)
        layout.addWidget(self.status)
        layout.addWidget(self.error_label)
        self.resize(760, 560)

    def _script_row(self) -> QHBoxLayout:
        """The script editor (laid out under the row), its note and Open script…"""
        self.editor = QPlainTextEdit()
        self.editor.setPlaceholderText(EXAMPLE)
        self.editor.textChanged.connect(self._script_changed)
        self.open_button = QPushButton("Open script…")
        self.open_button.clicked.connect(self.open_script_dialog)
        self.script_label = QLabel("Paste a script, or open one: [S1] and [S2] start the turns.")
        top = QHBoxLayout()
        top.addWidget(self.script_label, 1)
        top.addWidget(self.open_button)
        return top

    def _voice_grid(self) -> QGridLayout:
        """A row per speaker: the voice, Choose…, Record…, Clear."""
        grid = QGridLayout()
        self.voice_labels: dict[int, QLabel] = {}
        for row, speaker in enumerate((1, 2)):
            label = QLabel()
            self.voice_labels[speaker] = label
            choose = QPushButton("Choose…")
            choose.clicked.connect(lambda _=False, s=speaker: self.choose_voice_dialog(s))
            record = QPushButton("Record…")
            record.clicked.connect(lambda _=False, s=speaker: self.record_voice(s))
            clear = QPushButton("Clear")
            clear.clicked.connect(lambda _=False, s=speaker: self.set_voice(s, None))
            grid.addWidget(QLabel(f"[S{speaker}] voice:"), row, 0)
            grid.addWidget(label, row, 1)
            for col, b in enumerate((choose, record, clear), start=2):
                grid.addWidget(b, row, col)
        grid.setColumnStretch(1, 1)
        for s in (1, 2):
            self.set_voice(s, None)
        return grid

    def _output_row(self) -> QHBoxLayout:
        """The output file, Save as… and the seed."""
        self.out_edit = QLineEdit(str(self.folder / "dialogue.wav"))
        browse = QPushButton("Save as…")
        browse.clicked.connect(self.choose_output_dialog)
        self.seed_box = QSpinBox()
        self.seed_box.setRange(0, 2**31 - 1)
        self.seed_box.setSpecialValueText("random")
        self.seed_box.setToolTip("The same seed gives the same audio; random picks one")
        out_row = QHBoxLayout()
        out_row.addWidget(QLabel("Output:"))
        out_row.addWidget(self.out_edit, 1)
        out_row.addWidget(browse)
        out_row.addWidget(QLabel("Seed:"))
        out_row.addWidget(self.seed_box)
        return out_row

    def _run_row(self) -> QHBoxLayout:
        """Render, Cancel, the progress bar, Listen and Export… (the status line below it)."""
        self.render_button = QPushButton("Render")
        self.render_button.clicked.connect(self.render)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.renderer.cancel)
        self.bar = QProgressBar()
        self.bar.setRange(0, 1000)
        self.bar.setTextVisible(False)
        self.status = QLabel("")
        self.listen_button = QPushButton("Listen")
        self.listen_button.clicked.connect(self.toggle_listen)
        self.export_button = QPushButton("Export…")
        self.export_button.clicked.connect(self.export_dialog)
        run_row = QHBoxLayout()
        for w in (self.render_button, self.cancel_button):
            run_row.addWidget(w)
        run_row.addWidget(self.bar, 1)
        for w in (self.listen_button, self.export_button):
            run_row.addWidget(w)
        return run_row

    def _update(self) -> None:
        idle = not self.rendering
        self.render_button.setEnabled(idle and bool(self.editor.toPlainText().strip()))
        self.cancel_button.setEnabled(self.rendering)
        self.editor.setReadOnly(self.rendering)
        self.open_button.setEnabled(idle)
        done = idle and self.result is not None and self.result.paths.mix.is_file()
        self.listen_button.setEnabled(done)
        self.listen_button.setText("Stop" if self._listen else "Listen")
        self.export_button.setEnabled(done)

    def _show_error(self, message: str) -> None:
        self.error_label.setText(message)
        self.error_label.setVisible(bool(message))

    # -- the script ------------------------------------------------------------------------------
    def _script_changed(self) -> None:
        text = self.editor.toPlainText()
        try:
            script = parse_dialogue(text, self.source) if text.strip() else None
        except UserError as exc:
            self.script_label.setText(f"Not ready: {exc}")
        else:
            if script is not None:
                self.script_label.setText(f"{len(script.turns)} turns, {len(script.words)} words")
        self._update()

    def open_script_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open a script", "", _SCRIPTS)
        if path:
            self.load_script(Path(path))

    def load_script(self, path: Path) -> None:
        """Put a script file in the editor; the output is named after it."""
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            self._show_error(f"Cannot read {path}: {exc}")
            return
        self.source = path.name
        self.out_edit.setText(str(Path(self.out_edit.text()).parent / f"{path.stem}.wav"))
        self.editor.setPlainText(text)

    # -- voices ----------------------------------------------------------------------------------
    def set_voice(self, speaker: int, path: Path | None) -> None:
        if path is None:
            self.voices.pop(speaker, None)
            self.voice_labels[speaker].setText("none: Dia2 picks a voice")
        else:
            self.voices[speaker] = Path(path)
            self.voice_labels[speaker].setText(str(path))

    def choose_voice_dialog(self, speaker: int) -> None:
        path, _ = QFileDialog.getOpenFileName(self, f"Voice sample for [S{speaker}]", "", _AUDIO)
        if path:
            self.set_voice(speaker, Path(path))

    def record_voice(self, speaker: int) -> None:
        dialog = RecordVoiceDialog(speaker, self.folder / "voices", self.input_device,
                                   self.output_device, parent=self)
        if dialog.exec() and dialog.saved is not None:
            self.set_voice(speaker, dialog.saved)

    # -- rendering -------------------------------------------------------------------------------
    def choose_output_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save the dialogue as", self.out_edit.text(),
                                              "WAV audio (*.wav);;FLAC audio (*.flac)")
        if path:
            self.out_edit.setText(path)

    def render(self) -> None:
        """Render the script (continuing an unfinished render of the same one)."""
        self._show_error("")
        text = self.editor.toPlainText()
        try:
            parse_dialogue(text, self.source)
        except UserError as exc:
            self._show_error(str(exc))
            return
        self.stop_listening()
        job = DialogueJob(text, self.source, Path(self.out_edit.text()).expanduser(), self.tts,
                          dict(self.voices),
                          self.seed_box.value() or None)
        self.result = None
        self.rendering = True
        self.bar.setValue(0)
        self.status.setText("Loading the models…")
        self._update()
        self.renderer.render(job)

    def _progress(self, p) -> None:
        self.bar.setValue(int(1000 * p.fraction))
        if p.replaying:
            self.status.setText(f"Picking up the unfinished render: {clock(p.audio_seconds)} kept")
            return
        left = "estimating the time left" if p.seconds_left is None else f"{clock(p.seconds_left)} left"
        self.status.setText(f"{100 * p.fraction:.0f}% · generation {min(p.generation + 1, p.generations)} "
                            f"of {p.generations} · {clock(p.audio_seconds)} of audio · {left}")

    def _finished(self, result) -> None:
        self.rendering = False
        self.result = result
        self.bar.setValue(1000)
        self.status.setText(f"Done: {clock(result.seconds)} in {result.generations} generations, "
                            f"written to {result.paths.mix}")
        self._update()

    def _failed(self, message: str) -> None:
        self.rendering = False
        self.status.setText("")
        self._show_error(message)
        self._update()

    def _cancelled(self) -> None:
        self.rendering = False
        self.status.setText("Stopped. Render continues from the last finished generation.")
        self._update()

    # -- listening and exporting -----------------------------------------------------------------
    def toggle_listen(self) -> None:
        if self._listen:
            self.stop_listening()
        else:
            self.listen()

    def listen(self) -> None:
        """Play the finished mix on the output device (read and played on the worker)."""
        if self.result is None or self._listen:
            return
        self._show_error("")
        self._listen = self.audio.play(self.result.paths.mix, self.output_device)
        self._update()

    def stop_listening(self) -> None:
        """Silence the mix now; the device closes on the worker."""
        if not self._listen:
            return
        self.audio.stop_playing()
        self._listen = 0
        self._update()

    def _listen_done(self, number: int, error: str) -> None:
        if number != self._listen:
            return  # an older play, already stopped
        self._listen = 0
        if error:
            self._show_error(f"Cannot play: {error}")
        self._update()
        self.playFinished.emit(number, error)

    def export_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Export the dialogue to", str(self.folder))
        if folder:
            self.export_to(Path(folder))

    def export_to(self, folder: Path) -> None:
        """Copy the finished dialogue's files (mix, tracks, transcript, subtitles) to `folder`,
        on the worker; `exported` brings the copies."""
        if self.result is None:
            return
        self.export_button.setEnabled(False)
        self.status.setText(f"Exporting to {folder}…")
        self.audio.call(export_episode, self.result.paths, Path(folder))

    def _exported(self, copies: list[Path]) -> None:
        folder = copies[0].parent if copies else ""
        self.status.setText(f"Exported {len(copies)} files to {folder}")
        self._update()
        self.exported.emit(copies)

    def _export_failed(self, what: str, message: str) -> None:
        self.status.setText("")
        self._show_error(f"Export failed: {message}")
        self._update()

    # -- closing ---------------------------------------------------------------------------------
    def done(self, result: int) -> None:
        """Closing stops listening and the render (what is finished is kept for Render)."""
        self.stop_listening()
        self.renderer.close()
        self.audio.close()
        super().done(result)

