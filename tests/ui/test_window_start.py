"""The window appears before any model loads, and loads them afterwards on the session worker with
visible progress. Run in a fresh interpreter, so what the GUI thread imports is not hidden by
an earlier test: an audit hook notes which thread first imports each of the models' packages."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.audio.pulse import PORTAUDIO_DEVICE

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("torch", "transformers", "faster_whisper", "ctranslate2", "moshi")

HOOK = """
import json, sys, threading, time
first = {{}}

def hook(event, args):
    if event == "import" and args[0] in {heavy} and args[0] not in first:
        first[args[0]] = threading.current_thread().name

sys.addaudithook(hook)
"""  # notes which thread first imports each of HEAVY

SCRIPT = HOOK + """from PySide6.QtCore import QObject, QTimer, Slot
from PySide6.QtWidgets import QApplication

app = QApplication([])
from app.settings import AppSettings
from app.ui.main_window import MainWindow

w = MainWindow(AppSettings(input_device={device!r}, output_device={device!r}), demo=True,
               save=False)
w.show()
app.processEvents()
shown = {{"visible": w.isVisible(), "loaded": sorted(first)}}
steps = []


class Seen(QObject):  # lives on the GUI thread: its slot runs there, after the window's own
    @Slot(str, int, int)
    def step(self, what, i, n):
        steps.append([i, n, w.loading_bar.isVisible(), w.loading_bar.value(),
                      w.loading_label.text(), w.badge.text])


seen = Seen()
w.worker.sessionLoading.connect(seen.step)
QTimer.singleShot(0, w.start_session)
deadline = time.monotonic() + 600
while not w.status.running and not w.banner.isVisible() and time.monotonic() < deadline:
    app.processEvents()
    time.sleep(0.01)
after = {{"running": w.status.running, "banner": w.banner.text if w.banner.isVisible() else "",
         "bar": w.loading_bar.isVisible(), "label": w.loading_label.text()}}
w.close()
print(json.dumps({{"shown": shown, "steps": steps, "after": after, "first": first}}))
"""


@pytest.mark.sound
def test_the_window_shows_first_then_loads_the_models_on_the_worker(app_dirs, sound, demo_root):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    code = SCRIPT.format(heavy=set(HEAVY), device=PORTAUDIO_DEVICE)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                         env=env, timeout=900)
    assert out.returncode == 0, out.stderr[-3000:]
    report = json.loads(out.stdout.strip().splitlines()[-1])
    # shown with none of the models' packages imported
    assert report["shown"] == {"visible": True, "loaded": []}
    # the models load afterwards, step by step, each step shown in the status bar
    steps = report["steps"]
    assert [s[:2] for s in steps] == [[1, 4], [2, 4], [3, 4], [4, 4]], steps
    assert all(bar and value == i - 1 and f"({i} of 4)" in label and badge == "Starting…"
               for i, _, bar, value, label, badge in steps), steps
    assert ["libraries" in steps[0][4], "voice model" in steps[1][4],
            "speech recognition" in steps[2][4], "reply model" in steps[3][4]] == [True] * 4
    after = report["after"]
    assert after["running"] and not after["bar"] and after["label"] == "", after
    assert after["banner"].startswith("Demo:"), after  # the demo note, not an error
    # ... on the session worker's thread (a QThread: Python names it "Dummy-N"), never the GUI's
    assert "torch" in report["first"] and "MainThread" not in report["first"].values(), \
        report["first"]


FIRST_RUN = HOOK + """from PySide6.QtWidgets import QApplication

app = QApplication([])
from app.settings import AppSettings
from app.ui import download_dialog
from app.ui.main_window import MainWindow

offered = []
download_dialog.DownloadDialog.exec = lambda self: offered.append(self.worker) or 0  # declined
w = MainWindow(AppSettings(character="ava"), save=False)
w.show()
app.processEvents()
w.start_session()
gui_after_start = sorted(m for m, thread in first.items() if thread == "MainThread")
deadline = time.monotonic() + 600
while not w.banner.isVisible() and time.monotonic() < deadline:
    app.processEvents()
    time.sleep(0.01)
print(json.dumps({{"gui_after_start": gui_after_start, "first": first, "offered": len(offered),
                  "banner": w.banner.text, "bar": w.loading_bar.isVisible(),
                  "running": w.status.running}}))
w.close()
"""


def test_first_run_the_worker_finds_the_missing_models_and_the_window_offers_them(
        app_dirs, tmp_path):
    """Without the models (an empty cache), starting checks what is missing on the session
    worker (choosing Dia2 asks torch about the GPU), and the window offers the download; declined,
    it says what to do."""
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", HF_HUB_CACHE=str(tmp_path / "hf"),
               HF_ENDPOINT="http://127.0.0.1:9")  # the dialog's plan request fails at once
    out = subprocess.run([sys.executable, "-c", FIRST_RUN.format(heavy=set(HEAVY))],
                         capture_output=True, text=True, cwd=ROOT, env=env, timeout=900)
    assert out.returncode == 0, out.stderr[-3000:]
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert report["gui_after_start"] == []  # start_session handed over without importing them
    assert "torch" in report["first"] and "MainThread" not in report["first"].values(), report
    assert report["offered"] == 1
    assert "not downloaded yet" in report["banner"] and not report["bar"] and not report["running"]
