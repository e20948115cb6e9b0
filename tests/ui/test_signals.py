"""The window as a user starts it (`main.py --demo`, a real process): Ctrl+C and SIGTERM close it
like Quit (the session's recording is finished), and without a display one line says what to
do instead of Qt aborting."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.audio.pulse import PORTAUDIO_DEVICE

ROOT = Path(__file__).resolve().parents[2]


def _main(*args: str, env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(ROOT / "main.py"), *args], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_closes_the_window_and_finishes_the_recording(sig, code, app_dirs, sound, demo_dia2):
    from app.settings import AppSettings, save_settings

    save_settings(AppSettings(input_device=PORTAUDIO_DEVICE, output_device=PORTAUDIO_DEVICE, demo=True))
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", OMP_NUM_THREADS="1", HF_HUB_OFFLINE="1")
    proc = _main("--demo", env=env)
    try:
        sessions = app_dirs / "data" / "dia2-voicechat" / "sessions"
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and proc.poll() is None:
            if list(sessions.glob("*/transcript.json")):
                break
            time.sleep(0.2)
        found = list(sessions.glob("*/transcript.json"))
        assert found, f"no session started (exit {proc.poll()}):\n{proc.stderr.read() if proc.poll() is not None else ''}"
        time.sleep(1.0)  # the session runs: the greeting may be under way
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == code, err
    assert "Traceback" not in err and "terminate called" not in err
    data = json.loads(found[0].read_text())
    assert "duration" in data  # written when the recording is finished, at close


def test_no_display_is_one_line_that_says_what_to_do(tmp_path):
    env = {k: v for k, v in os.environ.items()
           if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    env["XDG_DATA_HOME"] = str(tmp_path)
    out = subprocess.run([sys.executable, str(ROOT / "main.py"), "--demo"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "no display was found" in lines[0]
    assert "ssh -X" in lines[0] and "QT_QPA_PLATFORM=offscreen" in lines[0] and "--headless" in lines[0]


def test_a_display_nobody_serves_is_named():
    from app.errors import UserError
    from app.ui.app import check_display

    with pytest.raises(UserError, match="no X server answers on display :987"):
        check_display({"DISPLAY": ":987"}, "linux")
    check_display({"QT_QPA_PLATFORM": "offscreen"}, "linux")  # needs no display
    check_display({}, "win32")
