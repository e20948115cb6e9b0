"""Choosing the microphone and the speaker, with a test tone and a live input level.

    dialog = DeviceDialog(settings.input_device, settings.output_device, parent=window)
    if dialog.exec():
        use(dialog.input_device, dialog.output_device)   # device names, None for the default

The lists come from PortAudio (`app.audio.devices.list_devices`). "Test tone" plays a short 440 Hz
tone on the chosen output; "Check level" measures the chosen input, shown by a meter that a timer
repaints. All three run on `app.workers.levels.AudioChecker` (the lists arrive a moment after the
dialog opens; until then the remembered devices are shown and the buttons wait).
A remembered device that is not connected now stays in the list, marked, so OK keeps it.
"""

from __future__ import annotations

import logging
import math

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.audio.devices import DeviceInfo
from app.workers.levels import AudioChecker

log = logging.getLogger(__name__)

METER_FLOOR_DB = -60.0  # the meter's empty end
METER_FPS = 30  # meter repaints per second
NO_INPUT = "No microphone found: plug one in or check PulseAudio/PipeWire."
NO_OUTPUT = "No speaker or headphones found: plug them in or check PulseAudio/PipeWire."


def level_to_meter(peak: float) -> int:
    """A peak (0..1) as the meter's 0..100, on a dB scale from METER_FLOOR_DB to 0 dBFS."""
    if peak <= 0.0:
        return 0
    db = 20.0 * math.log10(min(peak, 1.0))
    return max(0, min(100, round(100 * (db - METER_FLOOR_DB) / -METER_FLOOR_DB)))


def _fill(box: QComboBox, devices: list[DeviceInfo], current: str | None, default_of,
          gone: str = " (not connected)") -> None:
    box.clear()
    default = next((d.name for d in devices if default_of(d)), None)
    box.addItem(f"System default ({default})" if default else "System default", None)
    for d in devices:
        box.addItem(f"{d.name}  ·  {d.hostapi}", d.name)
    if current:
        i = box.findData(current)
        if i < 0:
            box.addItem(f"{current}{gone}", current)
            i = box.count() - 1
        box.setCurrentIndex(i)


class DeviceDialog(QDialog):
    """Pick the input and output devices. `input_device` / `output_device`: names or None."""

    def __init__(self, input: str | None = None, output: str | None = None,  # noqa: A002
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Sound devices")
        self.input_device = input
        self.output_device = output
        self.checker = AudioChecker(self)
        self.checker.toneFinished.connect(self._tone_finished)
        self.checker.levelStarted.connect(self._level_started)
        self.checker.levelFailed.connect(self._level_failed)
        self.checker.listed.connect(self._listed)
        self.listed = False  # the device lists have arrived
        self.level = 0.0  # the last peak shown on the meter (0..1)
        self._checking = False
        self._make_widgets()
        self._lay_out()
        self._timer = QTimer(self)
        self._timer.setInterval(1000 // METER_FPS)
        self._timer.timeout.connect(self._repaint_meter)
        self.input_box.currentIndexChanged.connect(self._input_changed)
        self.refresh()
        self.resize(max(560, self.sizeHint().width()), self.sizeHint().height())

    def _make_widgets(self) -> None:
        """The device lists, their notes, the test buttons, the meter and the status line."""
        self.input_box = QComboBox()
        self.output_box = QComboBox()
        self.input_note = QLabel()
        self.output_note = QLabel()
        for note in (self.input_note, self.output_note):
            note.setWordWrap(True)
            note.setStyleSheet("color: #c5221f;")
            note.hide()
        self.tone_button = QPushButton("Test tone")
        self.tone_button.setToolTip("Play a short 440 Hz tone on the chosen output")
        self.tone_button.clicked.connect(self.play_tone)
        self.level_button = QPushButton("Check level")
        self.level_button.setCheckable(True)
        self.level_button.setToolTip("Show how loud the chosen microphone hears you")
        self.level_button.toggled.connect(self._toggle_level)
        self.meter = QProgressBar()
        self.meter.setRange(0, 100)
        self.meter.setTextVisible(False)
        self.meter.setValue(0)
        self.status = QLabel()
        self.status.setWordWrap(True)

    def _lay_out(self) -> None:
        """The grid of devices and their tests, the status line and OK / Cancel."""
        grid = QGridLayout()
        grid.addWidget(QLabel("&Microphone:", buddy=self.input_box), 0, 0)
        grid.addWidget(self.input_box, 0, 1)
        grid.addWidget(self.level_button, 0, 2)
        grid.addWidget(self.meter, 1, 1, 1, 2)
        grid.addWidget(self.input_note, 2, 1, 1, 2)
        grid.addWidget(QLabel("&Speaker:", buddy=self.output_box), 3, 0)
        grid.addWidget(self.output_box, 3, 1)
        grid.addWidget(self.tone_button, 3, 2)
        grid.addWidget(self.output_note, 4, 1, 1, 2)
        grid.setColumnStretch(1, 1)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(grid)
        row = QHBoxLayout()
        row.addWidget(self.status, 1)
        layout.addLayout(row)
        layout.addWidget(self.buttons)

    # -- the lists -------------------------------------------------------------------------------
    def refresh(self) -> None:
        """(Re)read the device lists (on the worker; `_listed` fills them in)."""
        self.listed = False
        self.status.setText("Looking for sound devices…")
        self.input_box.blockSignals(True)
        _fill(self.input_box, [], self.input_device, lambda d: False, gone="")
        self.input_box.blockSignals(False)
        _fill(self.output_box, [], self.output_device, lambda d: False, gone="")
        self.level_button.setEnabled(False)
        self.tone_button.setEnabled(False)
        self.checker.list_devices()

    def _listed(self, devices: list[DeviceInfo], error: str) -> None:
        chosen_in, chosen_out = self.chosen_input(), self.chosen_output()
        self.listed = True
        self.status.setText(error)
        inputs = [d for d in devices if d.max_input_channels > 0]
        outputs = [d for d in devices if d.max_output_channels > 0]
        self.input_box.blockSignals(True)
        _fill(self.input_box, inputs, chosen_in, lambda d: d.is_default_input)
        self.input_box.blockSignals(False)
        _fill(self.output_box, outputs, chosen_out, lambda d: d.is_default_output)
        self.input_note.setText(NO_INPUT)
        self.input_note.setVisible(not inputs)
        self.output_note.setText(NO_OUTPUT)
        self.output_note.setVisible(not outputs)
        self.level_button.setEnabled(bool(inputs))
        self.tone_button.setEnabled(bool(outputs))

    def input_names(self) -> list[str]:
        """The input devices listed (not counting the default entry)."""
        return [self.input_box.itemData(i) for i in range(1, self.input_box.count())]

    def output_names(self) -> list[str]:
        """The output devices listed (not counting the default entry)."""
        return [self.output_box.itemData(i) for i in range(1, self.output_box.count())]

    def chosen_input(self) -> str | None:
        return self.input_box.currentData()

    def chosen_output(self) -> str | None:
        return self.output_box.currentData()

    # -- the test tone ---------------------------------------------------------------------------
    def play_tone(self) -> None:
        """Play the test tone on the chosen output (the button stays off until it ends)."""
        self.tone_button.setEnabled(False)
        self.status.setText("Playing a 440 Hz tone…")
        self.checker.play_tone(self.chosen_output())

    def _tone_finished(self, error: str) -> None:
        self.tone_button.setEnabled(True)
        self.status.setText(error or "Tone played. Did you hear it? If not, pick another speaker.")

    # -- the level meter -------------------------------------------------------------------------
    def _toggle_level(self, on: bool) -> None:
        if on:
            self._checking = True
            self.status.setText("Opening the microphone…")
            self.checker.start_level(self.chosen_input())
            self._timer.start()
        else:
            self._stop_level()

    def _stop_level(self) -> None:
        self._checking = False
        self._timer.stop()
        self.checker.stop_level()
        self.level = 0.0
        self.meter.setValue(0)

    def _input_changed(self) -> None:
        if self._checking:  # measure the newly chosen microphone instead
            self.checker.start_level(self.chosen_input())

    def _level_started(self, name: str) -> None:
        self.status.setText(f"Listening to {name}: speak and watch the meter.")

    def _level_failed(self, error: str) -> None:
        self.status.setText(error)
        self.level_button.setChecked(False)

    def _repaint_meter(self) -> None:
        self.level = self.checker.take_level()
        self.meter.setValue(level_to_meter(self.level))

    # -- closing ---------------------------------------------------------------------------------
    def accept(self) -> None:
        self.input_device = self.chosen_input()
        self.output_device = self.chosen_output()
        super().accept()

    def done(self, result: int) -> None:
        self._timer.stop()
        self.checker.close()
        super().done(result)
