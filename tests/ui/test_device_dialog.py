"""The sound-device dialog on the PulseAudio virtual sound card (pytest-qt, offscreen).

- it lists the PortAudio devices the card is reached through (asked on its worker), and returns
  the ones chosen;
- "Test tone" really plays 440 Hz into the `spk` sink (recorded from its monitor);
- "Check level" shows silence as an empty meter, and a sound played into `mic` as a level.
"""

from __future__ import annotations

import time

import numpy as np
import pytest

from app.audio.capture import Capture, CaptureConfig
from app.audio.files import write_audio
from tests.audio.pulse import PORTAUDIO_DEVICE, SINK_RATE

pytestmark = pytest.mark.sound  # `pulse_server` comes from tests/ui/conftest.py


@pytest.fixture
def make_dialog(qtbot, pulse_server):
    from app.ui.device_dialog import DeviceDialog

    made = []

    def make(input=None, output=None):  # noqa: A002
        dialog = DeviceDialog(input, output)
        qtbot.addWidget(dialog)
        made.append(dialog)
        # PortAudio is asked on the dialog's worker (its answer is queued to this thread): until
        # it arrives the dialog says so and the buttons wait
        assert not dialog.listed and not dialog.tone_button.isEnabled()
        assert dialog.status.text() == "Looking for sound devices…"
        qtbot.waitUntil(lambda: dialog.listed, timeout=10000)
        return dialog

    yield make
    for dialog in made:
        dialog.checker.close()


def _select(box, value) -> None:
    i = box.findData(value)
    assert i >= 0, value
    box.setCurrentIndex(i)


def test_lists_the_virtual_card_and_returns_the_choice(make_dialog):
    from app.audio.devices import list_devices

    d = make_dialog()
    devices = list_devices()
    assert d.input_names() == [x.name for x in devices if x.max_input_channels > 0]
    assert d.output_names() == [x.name for x in devices if x.max_output_channels > 0]
    assert PORTAUDIO_DEVICE in d.input_names() and PORTAUDIO_DEVICE in d.output_names()
    assert d.input_box.currentData() is None  # the system default
    assert d.input_note.isHidden() and d.output_note.isHidden()
    _select(d.input_box, PORTAUDIO_DEVICE)
    _select(d.output_box, PORTAUDIO_DEVICE)
    d.accept()
    assert (d.input_device, d.output_device) == (PORTAUDIO_DEVICE, PORTAUDIO_DEVICE)


def test_a_remembered_device_that_is_gone_is_kept(make_dialog):
    d = make_dialog("Old USB Mic", PORTAUDIO_DEVICE)
    assert d.input_box.currentText() == "Old USB Mic (not connected)"
    assert d.output_box.currentData() == PORTAUDIO_DEVICE
    d.accept()
    assert (d.input_device, d.output_device) == ("Old USB Mic", PORTAUDIO_DEVICE)
    d2 = make_dialog("Old USB Mic", None)
    _select(d2.input_box, None)
    d2.reject()
    assert d2.input_device == "Old USB Mic"  # Cancel changes nothing


def test_test_tone_reaches_the_speaker(make_dialog, pulse_server, monkeypatch, qtbot):
    pulse_server.route(monkeypatch, sink=pulse_server.spk, source=f"{pulse_server.spk}.monitor")
    chunks: list = []
    d = make_dialog()
    _select(d.output_box, PORTAUDIO_DEVICE)
    with Capture(CaptureConfig(device=PORTAUDIO_DEVICE, samplerate=SINK_RATE, output_rates=()),
                 on_chunk=chunks.append):
        time.sleep(0.2)
        with qtbot.waitSignal(d.checker.toneFinished, timeout=20000) as done:
            d.tone_button.click()
            assert not d.tone_button.isEnabled()  # one tone at a time
        time.sleep(0.3)
    assert done.args == [""]
    assert d.tone_button.isEnabled()
    rec = np.concatenate([c.samples for c in chunks])
    loud = np.abs(rec) > 0.01
    assert loud.sum() > 0.8 * SINK_RATE  # about one second of tone arrived
    part = rec[np.nonzero(loud)[0][0]:][: SINK_RATE]
    spectrum = np.abs(np.fft.rfft(part * np.hanning(len(part)))) ** 2
    freqs = np.fft.rfftfreq(len(part), 1 / SINK_RATE)
    assert abs(freqs[np.argmax(spectrum)] - 440.0) < 3.0
    band = spectrum[(freqs > 420) & (freqs < 460)].sum()
    assert band > 0.95 * spectrum.sum()
    assert np.abs(rec).max() == pytest.approx(0.3, abs=0.02)


def test_level_check_shows_sound_played_into_the_mic(
    make_dialog, pulse_server, monkeypatch, qtbot, tmp_path
):
    pulse_server.route(monkeypatch, source=f"{pulse_server.mic}.monitor")
    t = np.arange(3 * SINK_RATE) / SINK_RATE
    clip = (0.5 * np.sin(2 * np.pi * 300 * t)).astype(np.float32)
    path = write_audio(tmp_path / "tone.wav", clip, SINK_RATE, subtype="FLOAT")
    d = make_dialog()
    _select(d.input_box, PORTAUDIO_DEVICE)
    with qtbot.waitSignal(d.checker.levelStarted, timeout=10000):
        d.level_button.setChecked(True)
    qtbot.waitUntil(lambda: d.checker.chunks > 10, timeout=10000)
    qtbot.wait(200)
    assert d.meter.value() == 0  # the null sink is silent until something plays
    player = pulse_server.paplay(path, pulse_server.mic)
    try:
        qtbot.waitUntil(lambda: d.meter.value() > 0, timeout=10000)
        qtbot.waitUntil(lambda: d.level > 0.4, timeout=10000)  # the clip's peak is 0.5
    finally:
        player.terminate()
        player.wait(10)
    assert d.meter.value() >= 85  # -6 dBFS on a 60 dB scale
    d.level_button.setChecked(False)
    assert d.meter.value() == 0
