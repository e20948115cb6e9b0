"""The settings dialog: models, where replies come from, listening, the voice, appearance.

    dialog = SettingsDialog(settings, parent=window)
    if dialog.exec():
        settings = dialog.settings()            # a new AppSettings; Cancel leaves nothing changed

The dialog edits a copy: fields it does not show (character, devices, window geometry) pass
through unchanged. With `save=True`, OK also writes the settings file. A server URL that is not
an http(s) address is flagged under the field and OK stays disabled until it is fixed. "Test
connection" asks the server for its models on a worker thread (`app.workers.probe`). Model sizes
are shown only when the model is in the Hugging Face cache, which the same worker reads (the list
says "checking…" until it answers).
"""

from __future__ import annotations

import logging
from dataclasses import replace
from urllib.parse import urlsplit

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QSlider,
    QSpinBox,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.settings import BRAINS, PRECISIONS, THEMES, AppSettings, save_settings
from app.workers.probe import SettingsProbe

log = logging.getLogger(__name__)

DIA2_CHOICES = (("Automatic (2B on a GPU with room for it, else 1B)", "auto"),
                ("Dia2 2B", "nari-labs/Dia2-2B"), ("Dia2 1B", "nari-labs/Dia2-1B"))
FOLDER = "folder"  # the model combo's data for "a local folder"
BRAIN_LABELS = {
    "character": "The character's own choice",
    "demo": "Built-in small model (SmolLM2-135M, installed with the app)",
    "openai": "A chat server (Ollama, llama.cpp, vLLM, LM Studio…)",
    "transformers": "A local model (transformers)",
    "typed": "I type the replies myself",
}
DEVICE_LABELS = {"auto": "Automatic (GPU if there is one)", "cpu": "CPU", "cuda": "GPU (CUDA)"}
PRECISION_LABELS = {"auto": "Automatic (reference on a GPU, float32 on the CPU)",
                    "reference": "Reference (GPU: float32 weights, bfloat16 activations)",
                    "fast": "Fast (GPU: bfloat16 weights, half the memory)",
                    "float32": "float32 (exact to the fixtures, slowest)"}
ERROR_STYLE = "color: #c5221f;"
OK_STYLE = "color: #188038;"


def url_problem(text: str) -> str | None:
    """Why `text` is not a usable server URL, or None ("" means the default server)."""
    text = text.strip()
    if not text:
        return None
    try:
        url = urlsplit(text)
        url.port  # noqa: B018 - raises on a bad port
    except ValueError:
        return "This is not a valid address; use something like http://127.0.0.1:11434/v1"
    if url.scheme not in ("http", "https") or not url.hostname:
        return "Use an http:// or https:// address, e.g. http://127.0.0.1:11434/v1"
    return None


def _size(n: int) -> str:
    return f"{n / 1e9:.1f} GB" if n >= 1e9 else f"{n / 1e6:.0f} MB"


def model_status(repo_id: str, cached: dict) -> str:
    """What the cache holds of `repo_id`: its size, or "not downloaded"."""
    m = cached.get(repo_id)
    if m is None:
        return "not downloaded"
    return f"{_size(m.size_bytes)} downloaded" if m.complete else f"partly downloaded ({_size(m.size_bytes)})"


def _combo(items: dict[str, str], current: str) -> QComboBox:
    box = QComboBox()
    for value, label in items.items():
        box.addItem(label, value)
    i = box.findData(current)
    if i < 0:  # e.g. "cuda:1": keep it choosable
        box.addItem(current, current)
        i = box.count() - 1
    box.setCurrentIndex(i)
    return box


def _folder_row(edit: QLineEdit, parent: QWidget, title: str) -> QWidget:
    row = QWidget()
    lay = QHBoxLayout(row)
    lay.setContentsMargins(0, 0, 0, 0)
    lay.addWidget(edit, 1)
    browse = QPushButton("Browse…")

    def pick() -> None:
        folder = QFileDialog.getExistingDirectory(parent, title, edit.text())
        if folder:
            edit.setText(folder)
            edit.editingFinished.emit()

    browse.clicked.connect(pick)
    lay.addWidget(browse)
    return row


class SettingsDialog(QDialog):
    """Edit `AppSettings`; `settings()` returns the edited copy."""

    def __init__(self, settings: AppSettings, parent: QWidget | None = None, *,
                 save: bool = False) -> None:
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self._initial = settings
        self._save = save
        self.test_ok: bool | None = None  # the last connection test's outcome (None: none yet)
        self._testing = False
        self.probe = SettingsProbe(self)
        self.probe.finished.connect(self._test_finished)
        self.probe.scanned.connect(self._scanned)
        self.tabs = QTabWidget()
        self.tabs.addTab(self._models_tab(settings), "&Models")
        self.tabs.addTab(self._replies_tab(settings), "&Replies")
        self.tabs.addTab(self._listening_tab(settings), "&Listening")
        self.tabs.addTab(self._voice_tab(settings), "&Voice")
        self.tabs.addTab(self._appearance_tab(settings), "&Appearance")
        self.error = QLabel()  # problems saving
        self.error.setStyleSheet(ERROR_STYLE)
        self.error.setWordWrap(True)
        self.error.hide()
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.ok_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.tabs)
        layout.addWidget(self.error)
        layout.addWidget(self.buttons)
        self._validate()

    # -- tabs ------------------------------------------------------------------------------------
    def _models_tab(self, s: AppSettings) -> QWidget:
        page = QWidget()
        form = QFormLayout(page)
        self.demo_box = QCheckBox("Use the demo models (no download: real recognition and a small "
                                  "reply model; the voice is a random stand-in)")
        self.demo_box.setChecked(s.demo)
        form.addRow(self.demo_box)
        self.model_box = QComboBox()
        self.model_folder = QLineEdit()
        self.model_folder.setPlaceholderText("a folder with config.json, model.safetensors, tokenizer.json")
        repos = [repo for _, repo in DIA2_CHOICES]
        self.models_folder_edit = QLineEdit(s.models_folder or "")
        self.models_folder_edit.setPlaceholderText("the standard Hugging Face cache")
        self._fill_models(s.model if s.model in repos else FOLDER, None)
        self.probe.scan(self.models_folder_edit.text().strip())
        if s.model not in repos:
            self.model_folder.setText(s.model)
        self.model_box.currentIndexChanged.connect(self._model_changed)
        self.model_folder.textChanged.connect(self._validate)
        form.addRow("Dia2 &model:", self.model_box)
        form.addRow("", _folder_row(self.model_folder, self, "Dia2 checkpoint folder"))
        self.mimi_edit = QLineEdit(s.mimi or "")
        self.mimi_edit.setPlaceholderText("the default Mimi codec")
        form.addRow("Mimi &codec:", self.mimi_edit)
        self.device_box = _combo(DEVICE_LABELS, s.device)
        form.addRow("Run on:", self.device_box)
        self.precision_box = _combo({p: PRECISION_LABELS[p] for p in PRECISIONS}, s.precision)
        form.addRow("&Precision:", self.precision_box)
        from app.asr.models import WHISPER_REPOS

        self.asr_box = QComboBox()
        self.asr_box.setEditable(True)
        self.asr_box.addItems(["", *WHISPER_REPOS])
        self.asr_box.lineEdit().setPlaceholderText("default for the device (base.en on CPU)")
        self.asr_box.setCurrentText(s.asr_model or "")
        form.addRow("Speech &recognition:", self.asr_box)
        self.models_folder_edit.editingFinished.connect(self._rescan_cache)
        form.addRow("Models &folder:", _folder_row(self.models_folder_edit, self, "Models folder"))
        self._model_changed()
        return page

    def _fill_models(self, current: str, cached: dict | None) -> None:
        """The model list, with what the cache holds (None: not known yet)."""
        self.model_box.blockSignals(True)
        self.model_box.clear()
        for label, repo in DIA2_CHOICES:
            status = "checking…" if cached is None else model_status(repo, cached)
            self.model_box.addItem(label if repo == "auto" else f"{label} ({repo}) — {status}", repo)
        self.model_box.addItem("A folder on this computer…", FOLDER)
        self.model_box.setCurrentIndex(max(0, self.model_box.findData(current)))
        self.model_box.blockSignals(False)

    def _rescan_cache(self) -> None:
        self._fill_models(self.model_box.currentData(), None)
        self.probe.scan(self.models_folder_edit.text().strip())

    def _scanned(self, cached: dict, folder: str) -> None:
        if folder == self.models_folder_edit.text().strip():  # else a newer scan is coming
            self._fill_models(self.model_box.currentData(), cached)

    def _model_changed(self) -> None:
        self.model_folder.setEnabled(self.model_box.currentData() == FOLDER)
        self._validate()

    def _replies_tab(self, s: AppSettings) -> QWidget:
        page = QWidget()
        form = QFormLayout(page)
        self.brain_box = _combo({b: BRAIN_LABELS[b] for b in BRAINS}, s.brain)
        self.brain_box.currentIndexChanged.connect(self._brain_changed)
        form.addRow("Replies &from:", self.brain_box)
        self.url_edit = QLineEdit(s.llm_url or "")
        self.url_edit.setPlaceholderText("http://127.0.0.1:11434/v1 (Ollama on this computer)")
        self.url_edit.textChanged.connect(self._validate)
        form.addRow("Server &URL:", self.url_edit)
        self.url_error = QLabel()
        self.url_error.setStyleSheet(ERROR_STYLE)
        self.url_error.setWordWrap(True)
        self.url_error.hide()
        form.addRow("", self.url_error)
        self.llm_model_edit = QLineEdit(s.llm_model or "")
        self.llm_model_edit.setPlaceholderText(
            "server: its model name (e.g. qwen2.5:1.5b-instruct); local: hub id, folder or .gguf file")
        form.addRow("Model &name:", self.llm_model_edit)
        self.test_button = QPushButton("&Test connection")
        self.test_button.clicked.connect(self.test_connection)
        self.test_result = QLabel()
        self.test_result.setWordWrap(True)
        form.addRow(self.test_button, self.test_result)
        self._brain_changed()
        return page

    def _brain_changed(self) -> None:
        kind = self.brain_box.currentData()
        self.url_edit.setEnabled(kind == "openai")
        self.llm_model_edit.setEnabled(kind in ("openai", "transformers"))
        self._validate()

    def _listening_tab(self, s: AppSettings) -> QWidget:
        page = QWidget()
        form = QFormLayout(page)
        self.hands_free_radio = QRadioButton("Hands-free: a pause ends my turn")
        self.push_radio = QRadioButton("Push-to-talk: I hold Space while I speak")
        group = QButtonGroup(page)
        group.addButton(self.hands_free_radio)
        group.addButton(self.push_radio)
        (self.hands_free_radio if s.hands_free else self.push_radio).setChecked(True)
        form.addRow("Turns:", self.hands_free_radio)
        form.addRow("", self.push_radio)
        self.sensitivity = QSlider(Qt.Orientation.Horizontal)
        self.sensitivity.setRange(5, 95)
        self.sensitivity.setValue(round(100 * (1 - s.vad_threshold)))
        self.sensitivity_label = QLabel()
        self.sensitivity.valueChanged.connect(self._show_sensitivity)
        self._show_sensitivity()
        form.addRow("Speech &sensitivity:", self.sensitivity)
        form.addRow("", self.sensitivity_label)
        self.headphones_box = QCheckBox("I use headphones (the character can be interrupted "
                                        "by any speech)")
        self.headphones_box.setChecked(s.headphones)
        form.addRow(self.headphones_box)
        self.echo_box = QComboBox()
        self.echo_box.addItem("WebRTC echo canceller (AEC3)", "aec3")
        self.echo_box.addItem("Echo gate only (no canceller)", "spectral")
        self.echo_box.setCurrentIndex(max(0, self.echo_box.findData(s.echo_canceller)))
        self.echo_box.setToolTip("Without headphones the speakers' sound comes back into the "
                                 "microphone; the canceller removes it before recognition")
        form.addRow("&Echo:", self.echo_box)
        self.noise_box = QCheckBox("Suppress steady background noise (fans, hum)")
        self.noise_box.setChecked(s.noise_suppression)
        form.addRow(self.noise_box)
        self.headphones_box.toggled.connect(lambda on: self.echo_box.setEnabled(not on))
        self.echo_box.setEnabled(not s.headphones)
        return page

    def vad_threshold(self) -> float:
        """The speech threshold the slider stands for (higher sensitivity, lower threshold)."""
        return round(1 - self.sensitivity.value() / 100, 2)

    def _show_sensitivity(self) -> None:
        self.sensitivity_label.setText(
            f"{self.sensitivity.value()} % (speech threshold {self.vad_threshold():.2f}); "
            "lower it if noise starts turns, raise it if quiet speech is missed")

    def _voice_tab(self, s: AppSettings) -> QWidget:
        page = QWidget()
        form = QFormLayout(page)
        form.addRow(QLabel("Unchecked settings use the character's own values."))
        self.cfg_spin = QDoubleSpinBox()
        self.cfg_spin.setRange(1.0, 20.0)
        self.cfg_spin.setSingleStep(0.5)
        self.temp_spin = QDoubleSpinBox()
        self.temp_spin.setRange(0.0, 5.0)
        self.temp_spin.setSingleStep(0.05)
        self.topk_spin = QSpinBox()
        self.topk_spin.setRange(1, 4096)
        self.cfg_check = self._override_row(form, "Guidance (CFG) scale", self.cfg_spin,
                                            s.cfg_scale, 2.0)
        self.temp_check = self._override_row(form, "Voice temperature", self.temp_spin,
                                             s.audio_temperature, 0.8)
        self.topk_check = self._override_row(form, "Top-k", self.topk_spin, s.top_k, 50)
        return page

    @staticmethod
    def _override_row(form: QFormLayout, text: str, spin, value, fallback) -> QCheckBox:
        check = QCheckBox(text)
        check.setChecked(value is not None)
        spin.setValue(value if value is not None else fallback)
        spin.setEnabled(value is not None)
        check.toggled.connect(spin.setEnabled)
        form.addRow(check, spin)
        return check

    def _appearance_tab(self, s: AppSettings) -> QWidget:
        page = QWidget()
        form = QFormLayout(page)
        self.theme_box = _combo({t: t.capitalize() if t != "system" else "Follow the system"
                                 for t in THEMES}, s.theme)
        form.addRow("&Theme:", self.theme_box)
        return page

    # -- validation and the connection test --------------------------------------------------------
    def problems(self) -> list[str]:
        """What keeps OK disabled."""
        out = []
        if not hasattr(self, "url_edit"):  # still building the tabs
            return out
        problem = url_problem(self.url_edit.text())
        if problem:
            out.append(problem)
        if self.model_box.currentData() == FOLDER and not self.model_folder.text().strip():
            out.append("Choose the Dia2 checkpoint folder, or pick a published model.")
        return out

    def _validate(self) -> None:
        if not hasattr(self, "url_error"):
            return
        problem = url_problem(self.url_edit.text())
        self.url_error.setText(problem or "")
        self.url_error.setVisible(problem is not None)
        self.test_button.setEnabled(problem is None and not self._testing
                                    and self.brain_box.currentData() == "openai")
        if hasattr(self, "ok_button"):
            self.ok_button.setEnabled(not self.problems())

    def test_connection(self) -> None:
        """Ask the server (on a worker thread) whether it answers and has the model."""
        self.test_ok = None
        self._testing = True
        self.test_button.setEnabled(False)
        self.test_result.setStyleSheet("")
        self.test_result.setText("Testing…")
        self.probe.test(self.url_edit.text(), self.llm_model_edit.text())

    def _test_finished(self, ok: bool, message: str) -> None:
        self.test_ok = ok
        self._testing = False
        self.test_result.setStyleSheet(OK_STYLE if ok else ERROR_STYLE)
        self.test_result.setText(("✓ " if ok else "✗ ") + message)
        self._validate()

    # -- the result ------------------------------------------------------------------------------
    def settings(self) -> AppSettings:
        """The settings as edited (a new object; the one given is untouched)."""
        choice = self.model_box.currentData()
        model = self.model_folder.text().strip() if choice == FOLDER else choice

        def text(edit: QLineEdit) -> str | None:
            return edit.text().strip() or None

        return replace(
            self._initial,
            demo=self.demo_box.isChecked(),
            model=model or self._initial.model,
            mimi=text(self.mimi_edit),
            device=self.device_box.currentData(),
            precision=self.precision_box.currentData(),
            asr_model=self.asr_box.currentText().strip() or None,
            models_folder=text(self.models_folder_edit),
            brain=self.brain_box.currentData(),
            llm_url=text(self.url_edit),
            llm_model=text(self.llm_model_edit),
            hands_free=self.hands_free_radio.isChecked(),
            headphones=self.headphones_box.isChecked(),
            echo_canceller=self.echo_box.currentData(),
            noise_suppression=self.noise_box.isChecked(),
            vad_threshold=self.vad_threshold(),
            cfg_scale=self.cfg_spin.value() if self.cfg_check.isChecked() else None,
            audio_temperature=self.temp_spin.value() if self.temp_check.isChecked() else None,
            top_k=self.topk_spin.value() if self.topk_check.isChecked() else None,
            theme=self.theme_box.currentData(),
        )

    def accept(self) -> None:
        if self.problems():
            return
        if self._save:
            try:
                save_settings(self.settings())
            except OSError as exc:
                self.error.setText(f"Could not save the settings: {exc}")
                self.error.show()
                return
        super().accept()

    def done(self, result: int) -> None:
        self.probe.close()
        super().done(result)
