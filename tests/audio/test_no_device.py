"""What a machine without sound devices gets: clear errors, not tracebacks.

The PortAudio boundary is replaced by a stand-in module that reports an empty device list (the
situation under test); the code that turns it into messages is the real one.
"""

from __future__ import annotations

import pytest

from app.audio.capture import Capture
from app.audio.devices import find_sound_device
from app.audio.playback import Playback
from app.errors import UserError


class _NoDevices:
    """The parts of the sounddevice API that device lookup uses, on a machine with no devices."""

    class PortAudioError(Exception):
        pass

    class default:  # noqa: N801  (mirrors sounddevice.default)
        device = (-1, -1)

    @staticmethod
    def query_devices():
        return []

    @staticmethod
    def query_hostapis():
        return [{"name": "ALSA"}]


def test_no_input_device_is_a_user_error():
    with pytest.raises(UserError, match="no input device found"):
        Capture(sd=_NoDevices)
    with pytest.raises(UserError, match="no output device found"):
        Playback(sd=_NoDevices)
    with pytest.raises(UserError, match="connect a microphone"):
        find_sound_device(None, "input", sd=_NoDevices)
