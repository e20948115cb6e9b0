"""The main window: the conversation, the live waveform, the state, and the controls.

The window only shows and steers: a `SessionWorker` on its own thread owns the live session
(models, devices, pipeline); its events arrive here as queued signals. The window is shown
before any model loads: `start_session` (run once the window is up) only hands the choices to
the worker, whose load steps the status bar shows as a progress bar with what is loading (on a
first run the worker finds the missing models and the window offers their download). Three timers
drive what moves: the waveform's (display rate), the level meter's own (20 Hz) and the clock's
(30 Hz: lit words, session clock).
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import (
    QByteArray,
    QEvent,
    QMetaObject,
    QObject,
    Qt,
    QThread,
    QTimer,
    QUrl,
    Signal,
)
from PySide6.QtGui import QAction, QActionGroup, QDesktopServices, QIcon, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QSplitter,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from app.conversation.events import (
    Error,
    Hearing,
    PersonWords,
    ReplyPlaced,
    ReplyWord,
    State,
    TurnAdded,
)
from app.core import APP_TITLE
from app.errors import UserError
from app.ui.banner import Banner
from app.ui.conversation_view import ConversationView
from app.ui.status import StateBadge, StatusModel, thinking_detail
from app.ui.waveform import LevelMeter, WaveformView
from app.workers.session import SessionWorker
from app.workers.tape import LevelTape

log = logging.getLogger(__name__)

DEMO_NOTE = ("Demo: recognition (Whisper base) and replies (SmolLM2-135M) are real models; the "
             "voice is a random-weight stand-in for Dia2, so it sounds like noise.")
DEMO_NOTE_MS = 15000  # how long the demo note stays (it is shown once per window)

ICON = Path(__file__).resolve().parents[2] / "resources" / "icons" / "dia2chat.svg"


class MainWindow(QMainWindow):
    """The app's window.

    Args:
        settings: the remembered `AppSettings`.
        demo: force the demo models (the `--demo` flag) without changing the saved settings.
        save: write settings changes to disk (tests may turn it off).
        session_factory: passed to the `SessionWorker` (tests).
    """

    exportDone = Signal(str)

    def __init__(self, settings, *, demo: bool = False, save: bool = True, session_factory=None) -> None:
        super().__init__()
        self.settings = settings
        self.demo = demo or settings.demo
        self._save = save
        self.status = StatusModel()
        self.tape = LevelTape()
        self.worker = SessionWorker(self.tape, session_factory)
        self._thread = QThread(self)
        self._thread.setObjectName("session-worker")
        self.worker.moveToThread(self._thread)
        self._thread.start()
        self.worker.eventReceived.connect(self.on_event)
        self.worker.sessionStarted.connect(self._started)
        self.worker.sessionFailed.connect(self._failed)
        self.worker.sessionStopped.connect(self._stopped)
        self.worker.sessionLoading.connect(self._loading)
        self.worker.modelsMissing.connect(self._models_missing)
        self.exportDone.connect(lambda msg: self.statusBar().showMessage(msg, 8000))
        self.folder: str | None = None
        self._export = None  # the export thread, joined at close
        self.characters: dict[str, Path] = {}
        self._talking = False
        self._demo_noted = False
        self._key_since = time.monotonic()  # when the badge's state began

        self.setWindowTitle(APP_TITLE + (" (demo models)" if self.demo else ""))
        if ICON.is_file():
            self.setWindowIcon(QIcon(str(ICON)))
        self._build()
        self._restore_geometry()
        QApplication.instance().installEventFilter(self)
        self._tick = QTimer(self)
        self._tick.setInterval(33)
        self._tick.timeout.connect(self._on_tick)
        self._tick.start()

    # -- building ------------------------------------------------------------------------------
    def _build(self) -> None:
        self.view = ConversationView()
        self.waveform = WaveformView(self.tape, self.worker.timeline_now)
        self.meter = LevelMeter(self.tape, self.worker.timeline_now)
        self.banner = Banner()
        self.badge = StateBadge()
        self.latency = QLabel("")
        self.clock = QLabel("0:00")
        self.clock.setToolTip("Session time")
        self.loading_bar = QProgressBar()  # the worker's load steps, shown while it loads
        self.loading_bar.setMaximumWidth(120)
        self.loading_bar.setTextVisible(False)
        self.loading_bar.hide()
        self.loading_label = QLabel("")

        self.say_box = QLineEdit()
        self.say_box.setPlaceholderText("Type something for the character to say, then Enter")
        self.say_box.returnPressed.connect(self._say_typed)
        self.talk_button = QPushButton("Hold to talk (Space)")
        self.talk_button.pressed.connect(self.press_to_talk)
        self.talk_button.released.connect(self.release_to_talk)
        bottom = QHBoxLayout()
        bottom.addWidget(self.talk_button)
        bottom.addWidget(self.say_box, 1)

        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.view)
        split.addWidget(self.waveform)
        split.setStretchFactor(0, 4)
        split.setStretchFactor(1, 1)
        split.setSizes([520, 150])
        central = QWidget()
        box = QVBoxLayout(central)
        box.setContentsMargins(6, 6, 6, 6)
        box.addWidget(self.banner)
        box.addWidget(split, 1)
        box.addLayout(bottom)
        self.setCentralWidget(central)

        sb = self.statusBar()
        sb.addWidget(self.badge)
        sb.addWidget(self.loading_bar)
        sb.addWidget(self.loading_label)
        sb.addWidget(self.latency, 1)
        sb.addPermanentWidget(QLabel("Mic"))
        sb.addPermanentWidget(self.meter)
        sb.addPermanentWidget(self.clock)
        self._actions()

    def _action(self, text: str, slot, shortcut=None, checkable=False, tip="") -> QAction:
        a = QAction(text, self)
        if shortcut is not None:
            a.setShortcut(QKeySequence(shortcut))
        a.setCheckable(checkable)
        a.setToolTip(tip or text)
        a.setStatusTip(tip or text)
        (a.toggled if checkable else a.triggered).connect(slot)
        self.addAction(a)
        return a

    def _actions(self) -> None:
        s = self.settings
        self.act_new = self._action("&New conversation", self.restart, "Ctrl+N")
        self.act_open = self._action("&Open recordings folder", self.open_recordings, "Ctrl+O")
        self.act_export = self._action("&Export a session…", self.export_session, "Ctrl+E")
        self.act_dialogue = self._action("Record a &dialogue…", self.open_dialogue, "Ctrl+L",
                                         tip="Render a two-speaker script of any length")
        self.act_quit = self._action("&Quit", self.close, QKeySequence.StandardKey.Quit)
        self.act_hands = self._action("&Hands-free", self.set_hands_free, "Ctrl+H", True,
                                      "Hands-free: your turn ends when you pause (else hold Space)")
        self.act_hands.setChecked(s.hands_free)
        self.act_mute = self._action("&Mute microphone", self.set_muted, "Ctrl+M", True)
        self.act_stop = self._action("&Stop the character", self.stop_speaking, "Esc")
        self.act_settings = self._action("&Settings…", self.open_settings, "Ctrl+,")
        self.act_devices = self._action("Audio &devices…", self.open_devices, "Ctrl+D")
        self.act_voice = self._action("Character &voice…", self.open_voice, "Ctrl+R",
                                      tip="Record or import a voice sample for the character")
        self.act_about = self._action("&About", lambda: self._about())

        self.character_box = QComboBox()
        self.character_box.setToolTip("Who you talk with")
        self._fill_characters()
        self.character_box.currentIndexChanged.connect(self._character_changed)

        tb = QToolBar("Conversation")
        tb.setObjectName("conversation-toolbar")
        tb.setMovable(False)
        tb.addWidget(QLabel(" Character: "))
        tb.addWidget(self.character_box)
        tb.addSeparator()
        for a in (self.act_hands, self.act_mute, self.act_stop):
            tb.addAction(a)
        tb.addSeparator()
        for a in (self.act_voice, self.act_devices, self.act_settings):
            tb.addAction(a)
        self.addToolBar(tb)

        mb = self.menuBar()
        m = mb.addMenu("&File")
        for a in (self.act_new, self.act_open, self.act_export, self.act_dialogue):
            m.addAction(a)
        m.addSeparator()
        m.addAction(self.act_quit)
        m = mb.addMenu("&Conversation")
        for a in (self.act_hands, self.act_mute, self.act_stop, self.act_voice):
            m.addAction(a)
        m = mb.addMenu("&Settings")
        m.addAction(self.act_settings)
        m.addAction(self.act_devices)
        themes = m.addMenu("&Theme")
        group = QActionGroup(self)
        for name in ("system", "light", "dark"):
            a = themes.addAction(name.capitalize())
            a.setCheckable(True)
            a.setChecked(s.theme == name)
            a.triggered.connect(lambda _=False, n=name: self.set_theme(n))
            group.addAction(a)
        m = mb.addMenu("&Help")
        m.addAction(self.act_about)

    def _fill_characters(self) -> None:
        from app.conversation.character import character_files

        self.characters = character_files()
        self.character_box.blockSignals(True)
        self.character_box.clear()
        for key in self.characters:
            self.character_box.addItem(key.capitalize(), key)
        i = self.character_box.findData(self.settings.character)
        self.character_box.setCurrentIndex(max(0, i))
        self.character_box.blockSignals(False)

    # -- the session ---------------------------------------------------------------------------
    def start_session(self) -> None:
        """(Re)start the conversation with the chosen character, models and devices."""
        from app.asr.vad import VadConfig
        from app.audio.echo import EchoConfig
        from app.conversation.character import find_character
        from app.conversation.live import LiveConfig
        from app.conversation.options import to_session_options, with_voice_overrides

        self.banner.hide_message()
        s = self.settings
        try:
            character = with_voice_overrides(
                find_character(self.character_box.currentData() or s.character), s)
        except UserError as exc:
            self.show_error(str(exc), where="character")
            return
        opts = to_session_options(s)
        if self.demo:
            opts = replace(opts, demo=True)
        self.view.clear()
        self.view.character_name = character.name
        self.tape.clear()
        self.status = StatusModel()
        self.status.muted = self.act_mute.isChecked()
        self._show_status()
        config = LiveConfig(input=s.input_device, output=s.output_device, hands_free=s.hands_free,
                            headphones=s.headphones, vad=VadConfig(threshold=s.vad_threshold),
                            echo=EchoConfig(canceller=s.echo_canceller,
                                            noise_suppression=s.noise_suppression))
        self.worker.request_start.emit(character, opts, config)

    def _models_missing(self, missing: list[str], character, opts, config) -> None:
        """The worker found models missing as it began to load (first run): offer their
        download, then start again."""
        self._loaded()
        if self._offer_download(missing):
            self.worker.request_start.emit(character, opts, config)

    def _models_ready(self, opts, character) -> bool:
        """Whether the models are on disk; if not, offer the download (the dialogue panel)."""
        from app.assets.setup import missing_models

        missing = missing_models(opts, character)
        return not missing or self._offer_download(missing)

    def _offer_download(self, missing: list[str]) -> bool:
        """The download dialog for `missing`; whether they are now on disk."""
        from app.ui.download_dialog import DownloadDialog

        dialog = DownloadDialog(missing, parent=self)
        if dialog.exec():
            return True
        self.show_error("The models are not downloaded yet. Download them (File ▸ New conversation "
                        "asks again), or start with --demo to try the app with tiny local models.",
                        where="download")
        return False

    def restart(self) -> None:
        self.start_session()

    def _loading(self, what: str, step: int, steps: int) -> None:
        """The worker is loading `what`, step `step` of `steps`."""
        self.loading_bar.setRange(0, steps)
        self.loading_bar.setValue(step - 1)
        self.loading_bar.show()
        self.loading_label.setText(f"Loading {what}… ({step} of {steps})")
        self.loading_label.show()

    def _loaded(self) -> None:
        self.loading_bar.hide()
        self.loading_label.setText("")
        self.loading_label.hide()

    def _started(self, folder: str) -> None:
        self._loaded()
        self.folder = folder
        self.status.running = True
        self.worker.set_muted(self.act_mute.isChecked())
        self.waveform.set_running(True)
        self.meter.set_running(True)
        self._show_status()
        self.statusBar().showMessage(f"Recording to {folder}", 5000)
        if self.demo and not self._demo_noted:
            self._demo_noted = True
            if self.banner.isVisible():  # a note that matters more (the GPU, an error) is up
                self.statusBar().showMessage(DEMO_NOTE, DEMO_NOTE_MS)
            else:
                self.banner.show_message(DEMO_NOTE)
                QTimer.singleShot(DEMO_NOTE_MS, self._hide_demo_note)

    def _hide_demo_note(self) -> None:
        if self.banner.text == DEMO_NOTE:
            self.banner.hide_message()

    def _stopped(self, folder: str) -> None:
        self.status.running = False
        self.waveform.set_running(False)
        self.meter.set_running(False)
        self._show_status()

    def _failed(self, message: str) -> None:
        self._loaded()
        self.show_error(message, where="session")
        if not self.worker.running:
            self.status.running = False
            self.status.pipeline = State.STOPPED
            self._show_status()

    def show_error(self, message: str, where: str = "") -> None:
        """Show a problem in the window, with the actions that may fix it."""
        actions = [("Retry", self.restart), ("Audio devices…", self.open_devices),
                   ("Settings…", self.open_settings)]
        self.banner.show_message(message, actions, error=True)

    def on_event(self, event) -> None:
        """A pipeline event (on the GUI thread)."""
        if self.status.feed(event):
            self._show_status()
        if isinstance(event, PersonWords):
            self.view.person_words(event.turn, event.words, event.timeline)
        elif isinstance(event, ReplyWord):
            self.view.reply_word(event.turn, event.word, event.start)
        elif isinstance(event, ReplyPlaced):
            self.view.reply_placed(event.turn, event.timeline)
        elif isinstance(event, TurnAdded):
            self.view.turn_added(event.turn)
        elif isinstance(event, Error):
            self.banner.show_message(event.message, [], error=event.fatal)

    def _show_status(self) -> None:
        key = self.status.key
        if key != self.badge.key:
            self._key_since = time.monotonic()
        self.badge.set_key(key, self._detail(key))
        self.latency.setText(self.status.latency_text())

    def _detail(self, key: str) -> str:
        return thinking_detail(time.monotonic() - self._key_since) if key == "thinking" else ""

    def _on_tick(self) -> None:
        if self.badge.key == "thinking":
            self.badge.set_key("thinking", self._detail("thinking"))
        now = self.worker.timeline_now()
        if now is None:
            return
        self.view.set_now(now)
        text = f"{int(now) // 60}:{int(now) % 60:02d}"
        if self.clock.text() != text:
            self.clock.setText(text)

    # -- controls ------------------------------------------------------------------------------
    def press_to_talk(self) -> None:
        if not self._talking:
            self._talking = True
            self.worker.press_to_talk()
            self.status.feed(Hearing(True))
            self._show_status()

    def release_to_talk(self) -> None:
        if self._talking:
            self._talking = False
            self.worker.release_to_talk()
            self.status.feed(Hearing(False))
            self._show_status()

    def set_hands_free(self, on: bool) -> None:
        self.worker.set_hands_free(on)
        self._remember(hands_free=on)

    def set_muted(self, on: bool) -> None:
        self.worker.set_muted(on)
        self.status.muted = on
        self._show_status()

    def stop_speaking(self) -> None:
        self.worker.stop_speaking()

    def _say_typed(self) -> None:
        text = self.say_box.text().strip()
        if text:
            self.worker.say(text)
            self.say_box.clear()

    def _character_changed(self, _index: int) -> None:
        self._remember(character=self.character_box.currentData())
        self.start_session()

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt API
        """Space anywhere but in a text field is the talk key (held: talking)."""
        kind = event.type()
        if kind in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease) and event.key() == Qt.Key.Key_Space:
            focus = QApplication.focusWidget()
            if isinstance(focus, QLineEdit) or not self.isActiveWindow():
                return False
            if not event.isAutoRepeat():
                self.press_to_talk() if kind == QEvent.Type.KeyPress else self.release_to_talk()
            return True
        return False

    # -- dialogs and files -----------------------------------------------------------------------
    def open_settings(self) -> None:
        from app.ui.settings_dialog import SettingsDialog

        dialog = SettingsDialog(self.settings, parent=self)
        if dialog.exec():
            old, new = self.settings, dialog.settings()
            self._remember(**{k: getattr(new, k) for k in new.__dataclass_fields__})
            if new.theme != old.theme:
                self.set_theme(new.theme)
            self.act_hands.setChecked(new.hands_free)
            if _session_fields(old) != _session_fields(new):
                self.start_session()

    def open_devices(self) -> None:
        from app.ui.device_dialog import DeviceDialog

        dialog = DeviceDialog(self.settings.input_device, self.settings.output_device, parent=self)
        if dialog.exec():
            changed = (dialog.input_device, dialog.output_device) != (
                self.settings.input_device, self.settings.output_device)
            self._remember(input_device=dialog.input_device, output_device=dialog.output_device)
            if changed:
                self.start_session()

    def open_voice(self) -> None:
        try:
            from app.ui.voice_dialog import VoiceDialog
        except ModuleNotFoundError:
            self.banner.show_message("Recording a voice sample is not available in this build.", [])
            return
        dialog = VoiceDialog(self.character_box.currentData(), self.settings.input_device,
                             self.settings.output_device, parent=self)
        if dialog.exec():
            self._fill_characters()
            i = self.character_box.findData(dialog.character_key)
            if i >= 0:
                self.character_box.setCurrentIndex(i)
            self.start_session()

    def open_dialogue(self) -> None:
        """The dialogue panel (app/ui/dialogue_panel.py), rendering with the models the settings
        choose; the first run offers their download as starting a conversation does."""
        from app.assets.choice import TtsChoice
        from app.conversation.character import find_character
        from app.conversation.options import to_session_options
        from app.ui.dialogue_panel import DialoguePanel

        panel = getattr(self, "dialogue_panel", None)
        if panel is None or not panel.isVisible():
            s = self.settings
            opts = replace(to_session_options(s), demo=self.demo or s.demo)
            if not opts.demo:
                try:
                    character = find_character(self.character_box.currentData() or s.character)
                except UserError as exc:
                    self.show_error(str(exc), where="character")
                    return
                if not self._models_ready(opts, character):
                    return
            tts = TtsChoice(model=opts.model, mimi=opts.mimi, demo=opts.demo, device=opts.device,
                            precision=opts.precision)
            panel = DialoguePanel(tts, s.input_device, s.output_device, parent=self)
            self.dialogue_panel = panel
        panel.show()
        panel.raise_()
        panel.activateWindow()

    def open_recordings(self) -> None:
        from app.paths import sessions_root

        root = sessions_root()
        root.mkdir(parents=True, exist_ok=True)
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(root)))

    def export_session(self) -> None:
        from app.paths import sessions_root

        start = self.folder or str(sessions_root())
        folder = QFileDialog.getExistingDirectory(self, "Export a recorded session", start)
        if folder:
            self.run_export(folder)

    def run_export(self, folder: str) -> None:
        """Re-render a session folder (mix, subtitles) off the GUI thread."""
        import threading

        from app.conversation.export import export_session

        def work() -> None:
            try:
                summary = export_session(folder)
                self.exportDone.emit(f"Exported {summary['turns']} turns, "
                                     f"{summary['seconds']:.0f} s to {summary['folder']}")
            except UserError as exc:
                self.exportDone.emit(f"Export failed: {exc}")

        if self._export is not None and self._export.is_alive():
            self.statusBar().showMessage("An export is still running; try again when it is done.", 8000)
            return
        self._export = threading.Thread(target=work, name="export", daemon=True)
        self._export.start()

    def _about(self) -> None:
        from app.ui.about import show_about

        show_about(self)

    def set_theme(self, theme: str) -> None:
        from app.ui.theme import apply_theme

        apply_theme(QApplication.instance(), theme)
        self._remember(theme=theme)

    # -- settings and closing ----------------------------------------------------------------------
    def _remember(self, **changes) -> None:
        self.settings = replace(self.settings, **changes)
        if self._save:
            from app.settings import save_settings

            try:
                save_settings(self.settings)
            except OSError as exc:
                self.banner.show_message(f"Could not save the settings: {exc}", [])

    def _restore_geometry(self) -> None:
        geometry = self.settings.window_geometry
        if geometry:
            self.restoreGeometry(QByteArray.fromBase64(geometry.encode()))
        else:
            self.resize(980, 700)

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt API
        self._remember(window_geometry=bytes(self.saveGeometry().toBase64()).decode())
        if getattr(self, "dialogue_panel", None) is not None:
            self.dialogue_panel.close()  # stops its render (finished generations stay) and thread
        QApplication.instance().removeEventFilter(self)
        self._tick.stop()
        self.waveform.set_running(False)
        # finish the recording on the worker's thread, then end that thread
        QMetaObject.invokeMethod(self.worker, "finish", Qt.ConnectionType.BlockingQueuedConnection)
        self._thread.quit()
        if not self._thread.wait(20000):
            QMessageBox.warning(self, "Closing", "The conversation did not stop in time.")
        if self._export is not None:
            self._export.join(60)  # an export under way finishes its files
        super().closeEvent(event)


def _session_fields(s) -> tuple:
    """The settings whose change needs a new session."""
    skip = {"theme", "window_geometry", "hands_free", "character"}
    return tuple(getattr(s, k) for k in s.__dataclass_fields__ if k not in skip)
