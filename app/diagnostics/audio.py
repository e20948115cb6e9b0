"""Sound-device checks: every input and output PortAudio lists is opened and run briefly.

A device that will not open is a failure when it is the default of its kind (the app would use
it), a warning otherwise. No microphone or no speaker at all is a warning: voice chat needs both,
but `say -o`, `transcribe` and `chat --headless` work without.
"""

from __future__ import annotations

import logging
import time
from types import ModuleType

from app.audio.devices import DeviceInfo, Kind, list_devices, load_sounddevice
from app.diagnostics.checks import Check
from app.errors import UserError

log = logging.getLogger(__name__)

OPEN_SECONDS = 0.1  # how long each stream runs once opened


def _silence(outdata, frames, time_info, status) -> None:  # output callback: play nothing
    outdata.fill(0)


def _ignore(indata, frames, time_info, status) -> None:  # input callback: drop what comes
    pass


def open_briefly(sd: ModuleType, device: DeviceInfo, kind: Kind) -> str | None:
    """Open, start and close one mono float32 stream at the device's own rate.

    Returns None when that worked, else PortAudio's reason.
    """
    stream_type = sd.InputStream if kind == "input" else sd.OutputStream
    callback = _ignore if kind == "input" else _silence
    try:
        with stream_type(device=device.index, channels=1, dtype="float32",
                         samplerate=device.default_samplerate, callback=callback):
            time.sleep(OPEN_SECONDS)
    except (sd.PortAudioError, ValueError, OSError) as exc:
        return str(exc) or type(exc).__name__
    return None


def check_devices(sd: ModuleType | None = None) -> list[Check]:
    """One line per device and direction, and a warning for a missing kind."""
    try:
        sd = sd or load_sounddevice()
        devices = list_devices(sd)
    except UserError as exc:
        return [Check("audio", "fail", str(exc), "install libportaudio2 (Debian/Ubuntu)")]
    out: list[Check] = []
    for kind, label in (("input", "microphone"), ("output", "speaker")):
        usable = [d for d in devices
                  if (d.max_input_channels if kind == "input" else d.max_output_channels) > 0]
        if not usable:
            out.append(Check(f"audio {kind}", "warn", f"no {kind} device ({label})",
                             f"connect a {label} or start PulseAudio/PipeWire; without one only "
                             "files work (say -o, chat --headless)", data={"kind": kind}))
            continue
        for d in usable:
            default = d.is_default_input if kind == "input" else d.is_default_output
            name = f"audio {kind} #{d.index}"
            data = {"kind": kind, "index": d.index, "device": d.name, "hostapi": d.hostapi,
                    "default": default, "rate": d.default_samplerate}
            mark = " (default)" if default else ""
            error = open_briefly(sd, d, kind)
            if error is None:
                out.append(Check(name, "ok", f"{d.name}{mark}: opened at "
                                 f"{d.default_samplerate:g} Hz", data={**data, "opened": True}))
            else:
                out.append(Check(name, "fail" if default else "warn",
                                 f"{d.name}{mark}: could not be opened ({error})",
                                 "check that no other program holds it exclusively, or pick "
                                 "another with --input/--output (see `main.py devices`)",
                                 data={**data, "opened": False, "error": error}))
    return out
