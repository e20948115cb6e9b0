"""Device listing and `--input` / `--output` resolution, on the PulseAudio virtual sound card."""

from __future__ import annotations

import pytest

from app.audio.devices import choose_rate, find_sound_device, list_devices
from app.errors import UserError
from tests.audio.pulse import PORTAUDIO_DEVICE

pytestmark = pytest.mark.sound


def test_lists_the_virtual_card_with_defaults(pulse_server):
    devices = list_devices()
    pulse = [d for d in devices if d.name == PORTAUDIO_DEVICE]
    assert pulse and pulse[0].max_input_channels > 0 and pulse[0].max_output_channels > 0
    assert sum(d.is_default_input for d in devices) <= 1
    assert sum(d.is_default_output for d in devices) <= 1


def test_resolves_by_name_index_and_default(pulse_server):
    by_name = find_sound_device(PORTAUDIO_DEVICE, "input")
    assert by_name.name == PORTAUDIO_DEVICE
    assert find_sound_device(str(by_name.index), "output").index == by_name.index
    assert find_sound_device(by_name.index, "input").name == PORTAUDIO_DEVICE
    assert find_sound_device("PULS", "output").name == PORTAUDIO_DEVICE  # case-insensitive part
    assert find_sound_device(None, "input").max_input_channels > 0


def test_unknown_devices_are_user_errors(pulse_server):
    with pytest.raises(UserError, match="no input device has that name"):
        find_sound_device("no such microphone", "input")
    with pytest.raises(UserError, match="no output device has that index"):
        find_sound_device(9999, "output")


def test_choose_rate_prefers_the_asked_rate(pulse_server):
    dev = find_sound_device(PORTAUDIO_DEVICE, "output")
    assert choose_rate(dev, "output", 24000) == 24000
    assert choose_rate(dev, "output", None) == int(dev.default_samplerate)
