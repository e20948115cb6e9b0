"""The voice dialog, offscreen: importing a speech file and saving it as a character's voice;
through the PulseAudio virtual sound card, recording speech played into the microphone and
playing the preview to the speaker.

Every device and file call runs on the dialog's worker (app/workers/sample.py): the tests wait
for its answers, and check that the GUI thread is free meanwhile (a timer keeps firing while the
microphone opens and closes)."""

from __future__ import annotations

import subprocess
import threading
import time
import tomllib

import numpy as np
import pytest
import soundfile as sf
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog

from app.audio.files import read_audio, write_audio
from app.conversation.character import find_character
from app.ui.voice_dialog import VoiceDialog
from tests.audio.pulse import PORTAUDIO_DEVICE, pulse_server  # noqa: F401  (fixture)
from tests.audio.speech import speech_files

RATE = 24000


@pytest.fixture(scope="module")
def speech_path(tmp_path_factory):
    """The longest available English speech recording (at least a few seconds)."""
    paths = speech_files(tmp_path_factory.mktemp("speech"))
    return max(paths, key=lambda p: sf.info(str(p)).duration)


@pytest.fixture
def user_dir(tmp_path, monkeypatch):
    folder = tmp_path / "chars"
    monkeypatch.setenv("DIA2CHAT_CHARACTERS_DIR", str(folder))
    return folder


def _dialog(qtbot, key="milo", **kw) -> VoiceDialog:
    dialog = VoiceDialog(key, kw.pop("input_device", None), kw.pop("output_device", None), **kw)
    qtbot.addWidget(dialog)
    dialog.show()
    return dialog


def _idle(qtbot, dialog, timeout=10000):
    """Wait until the worker answered the dialog's last request."""
    qtbot.waitUntil(lambda: not dialog.busy, timeout=timeout)


def _import(qtbot, dialog, path):
    dialog.import_file(str(path))
    assert dialog.busy == "importing" and not dialog.import_button.isEnabled()
    _idle(qtbot, dialog)


def test_import_then_save_makes_the_voice(qtbot, user_dir, speech_path, monkeypatch):
    dialog = _dialog(qtbot)
    assert not dialog.save_button.isEnabled()
    assert not dialog.play_button.isEnabled()
    monkeypatch.setattr(QFileDialog, "getOpenFileName",
                        staticmethod(lambda *a, **k: (str(speech_path), "")))
    qtbot.mouseClick(dialog.import_button, Qt.MouseButton.LeftButton)
    _idle(qtbot, dialog)
    assert dialog.save_button.isEnabled() and dialog.play_button.isEnabled()
    assert 2.0 <= dialog.duration() <= 30.0
    assert not dialog.error_label.isVisible()
    dialog.transcript_edit.setText("  Hello there.  ")
    with qtbot.waitSignal(dialog.accepted, timeout=10000):
        qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
        assert dialog.busy == "saving" and not dialog.save_button.isEnabled()
    assert dialog.result() == VoiceDialog.DialogCode.Accepted
    assert dialog.character_key == "milo"
    toml = user_dir / "milo.toml"
    assert tomllib.loads(toml.read_text())["voice"] == {"sample": "voices/milo.wav",
                                                       "transcript": "Hello there."}
    ch = find_character("milo")
    assert ch.voice == (user_dir / "voices" / "milo.wav").resolve()
    saved, _ = read_audio(ch.voice)
    np.testing.assert_allclose(saved, dialog.audio, atol=1.5 / 32768)


def test_a_short_or_unreadable_file_cannot_be_saved(qtbot, user_dir, tmp_path, speech_path):
    dialog = _dialog(qtbot)
    speech, _ = read_audio(speech_path, RATE)
    short = write_audio(tmp_path / "short.wav", speech[: RATE], RATE)
    _import(qtbot, dialog, short)
    assert dialog.duration() <= 1.0
    assert not dialog.save_button.isEnabled()
    assert "too short" in dialog.duration_label.text()
    junk = tmp_path / "junk.wav"
    junk.write_bytes(b"this is not audio at all" * 10)
    _import(qtbot, dialog, junk)
    assert dialog.error_label.isVisible() and "cannot read" in dialog.error_label.text()
    dialog.save()  # the button is disabled, but saving directly must still refuse
    _idle(qtbot, dialog)
    assert dialog.result() != VoiceDialog.DialogCode.Accepted
    assert "at least" in dialog.error_label.text()  # the worker's refusal, in the dialog
    assert not user_dir.exists()


def test_a_missing_microphone_is_explained(qtbot, user_dir):
    pytest.importorskip("sounddevice", exc_type=OSError)
    dialog = _dialog(qtbot, input_device="no-such-microphone-xyz")
    qtbot.mouseClick(dialog.record_button, Qt.MouseButton.LeftButton)
    assert dialog.recording and dialog.busy == "opening"  # the worker opens it
    qtbot.waitUntil(lambda: not dialog.recording, timeout=10000)
    text = dialog.error_label.text()
    assert dialog.error_label.isVisible()
    # whichever way the device is missing (no sound card at all, or none of that name), the
    # message says what failed and what to do instead
    assert text.startswith("Cannot record:") and "Import" in text
    assert dialog.record_button.text() == "Record" and dialog.import_button.isEnabled()


def test_a_missing_speaker_is_explained(qtbot, user_dir, speech_path):
    pytest.importorskip("sounddevice", exc_type=OSError)
    dialog = _dialog(qtbot, output_device="no-such-speaker-xyz")
    _import(qtbot, dialog, speech_path)
    qtbot.mouseClick(dialog.play_button, Qt.MouseButton.LeftButton)
    assert dialog.previewing  # the worker opens the speaker
    qtbot.waitUntil(lambda: not dialog.previewing, timeout=10000)
    assert dialog.error_label.isVisible() and dialog.error_label.text().startswith("Cannot play:")
    assert dialog.play_button.text() == "Play preview" and dialog.save_button.isEnabled()


# -- through the virtual sound card --------------------------------------------------------------
@pytest.mark.sound
def test_recording_captures_speech_played_into_the_microphone(
        qtbot, user_dir, pulse_server, monkeypatch, speech_path):  # noqa: F811
    pulse_server.route(monkeypatch, source=f"{pulse_server.mic}.monitor")
    dialog = _dialog(qtbot, input_device=PORTAUDIO_DEVICE)
    qtbot.mouseClick(dialog.record_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.busy != "opening", timeout=10000)
    assert dialog.busy == "recording", dialog.error_label.text()
    assert dialog.record_button.text() == "Stop"
    assert not dialog.save_button.isEnabled() and not dialog.import_button.isEnabled()
    qtbot.wait(300)
    player = pulse_server.paplay(speech_path, pulse_server.mic)
    assert player.wait(timeout=30) == 0, player.stderr.read()
    qtbot.waitUntil(lambda: "Recording" in dialog.duration_label.text(), timeout=5000)
    qtbot.wait(300)
    qtbot.mouseClick(dialog.record_button, Qt.MouseButton.LeftButton)
    assert not dialog.recording and dialog.busy == "stopping"
    _idle(qtbot, dialog)
    speech, _ = read_audio(speech_path, RATE)
    assert dialog.duration() > 2.0
    assert np.abs(dialog.audio).max() > 0.5 * np.abs(speech).max()
    # the captured stretch is the speech: its loudness follows the played file's
    assert np.sqrt(np.mean(dialog.audio**2)) > 0.3 * np.sqrt(np.mean(speech**2))
    assert dialog.save_button.isEnabled()
    with qtbot.waitSignal(dialog.accepted, timeout=10000):
        qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    assert dialog.result() == VoiceDialog.DialogCode.Accepted
    assert (user_dir / "voices" / "milo.wav").is_file()


@pytest.mark.sound
def test_recording_stops_by_itself_at_the_limit(qtbot, pulse_server, monkeypatch, user_dir):  # noqa: F811
    pulse_server.route(monkeypatch, source=f"{pulse_server.mic}.monitor")
    dialog = _dialog(qtbot, input_device=PORTAUDIO_DEVICE, max_seconds=1.0)
    qtbot.mouseClick(dialog.record_button, Qt.MouseButton.LeftButton)
    assert dialog.recording, dialog.error_label.text()
    qtbot.waitUntil(lambda: not dialog.busy, timeout=10000)
    assert not dialog.error_label.isVisible(), dialog.error_label.text()
    assert dialog.record_button.text() == "Record"
    # nothing was played into the mic: silence, kept whole at exactly the limit
    assert len(dialog.audio) == RATE
    assert not dialog.save_button.isEnabled()


@pytest.mark.sound
def test_preview_plays_to_the_speaker(qtbot, pulse_server, monkeypatch, user_dir, speech_path,  # noqa: F811
                                      tmp_path):
    pulse_server.route(monkeypatch, sink=pulse_server.spk)
    rec = tmp_path / "heard.wav"
    recorder = subprocess.Popen(
        ["parecord", f"--device={pulse_server.spk}.monitor", "--rate=24000", "--channels=1",
         "--format=float32le", "--file-format=wav", str(rec)])
    try:
        time.sleep(0.5)
        dialog = _dialog(qtbot, output_device=PORTAUDIO_DEVICE)
        _import(qtbot, dialog, speech_path)
        qtbot.mouseClick(dialog.play_button, Qt.MouseButton.LeftButton)
        assert dialog.previewing, dialog.error_label.text()
        assert dialog.play_button.text() == "Stop preview"
        assert not dialog.record_button.isEnabled() and not dialog.save_button.isEnabled()
        qtbot.waitUntil(lambda: not dialog.previewing, timeout=30000)
        assert dialog.play_button.text() == "Play preview"
        assert not dialog.error_label.isVisible()
        time.sleep(0.5)
    finally:
        recorder.terminate()
        recorder.wait(10)
    heard, rate = sf.read(str(rec), dtype="float32")
    heard = heard.reshape(-1)
    played = dialog.audio
    assert rate == RATE
    assert np.abs(heard).max() > 0.5 * np.abs(played).max()
    # all of it was heard: as many loud samples arrived as were played
    assert (np.abs(heard) > 1e-3).sum() >= 0.9 * (np.abs(played) > 1e-3).sum()


@pytest.mark.sound
def test_stop_preview_cuts_it_short(qtbot, pulse_server, monkeypatch, user_dir, speech_path):  # noqa: F811
    pulse_server.route(monkeypatch, sink=pulse_server.spk)
    dialog = _dialog(qtbot, output_device=PORTAUDIO_DEVICE)
    _import(qtbot, dialog, speech_path)
    with qtbot.waitSignal(dialog.worker.playFinished, timeout=10000) as ended:
        qtbot.mouseClick(dialog.play_button, Qt.MouseButton.LeftButton)
        assert dialog.previewing, dialog.error_label.text()
        qtbot.wait(300)
        t0 = time.monotonic()
        qtbot.mouseClick(dialog.play_button, Qt.MouseButton.LeftButton)
    # the worker closed the speaker well before the sample's end, without an error
    assert time.monotonic() - t0 < 0.5 * dialog.duration() and ended.args[1] == ""
    assert not dialog.previewing
    assert dialog.play_button.text() == "Play preview" and dialog.record_button.isEnabled()
    qtbot.wait(200)  # the finished signal of the stopped preview changes nothing
    assert not dialog.previewing and not dialog.error_label.isVisible()



class _Ticks:
    """A 20 ms timer on the GUI thread, counting its ticks."""

    def __init__(self) -> None:
        from PySide6.QtCore import QTimer

        self.count = 0
        self.timer = QTimer()
        self.timer.setInterval(20)
        self.timer.timeout.connect(self._tick)
        self.timer.start()

    def _tick(self) -> None:
        self.count += 1


@pytest.mark.sound
def test_the_window_stays_responsive_while_the_worker_is_stuck(
        qtbot, user_dir, pulse_server, monkeypatch, speech_path):  # noqa: F811
    """A microphone that takes its time to open (here: a worker request held up on purpose by
    a call queued before it that waits until the test releases it) leaves the dialog answering:
    the GUI thread keeps running its timer and takes the click while the worker is stuck, and
    the recording arrives once the worker gets to it."""
    pulse_server.route(monkeypatch, source=f"{pulse_server.mic}.monitor")
    dialog = _dialog(qtbot, input_device=PORTAUDIO_DEVICE)
    release = threading.Event()
    dialog.worker.call(release.wait, 30.0)  # the worker is stuck until released
    try:
        qtbot.mouseClick(dialog.record_button, Qt.MouseButton.LeftButton)
        assert dialog.busy == "opening" and dialog.duration_label.text() == "Opening the microphone…"
        ticks = _Ticks()
        qtbot.waitUntil(lambda: ticks.count >= 10, timeout=10000)
        # the GUI thread ran its timer ten times while the worker was still held
        assert not release.is_set() and dialog.busy == "opening"
        ticks.timer.stop()
    finally:
        release.set()
    qtbot.waitUntil(lambda: dialog.busy == "recording", timeout=10000)
    qtbot.wait(500)
    qtbot.mouseClick(dialog.record_button, Qt.MouseButton.LeftButton)
    _idle(qtbot, dialog)
    assert 0.2 < dialog.duration() < 5.0
