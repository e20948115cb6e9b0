"""Start times: how long the command line and the window take to answer, in fresh processes.

`command_times` runs `main.py --version`, `--help` and `devices` (each `repeats` times, with the
interpreter that runs the bench, and through `uv run` when uv is on the PATH) and reports the wall
time from starting the process to its exit, with its peak memory. `window_times` opens the real
window with the demo models (`run_window`, offscreen when there is no display) and reports when
it was shown and painted, when each model-loading step began, when the conversation started (or
why it could not), and the worst lateness of a 10 ms timer on the GUI thread while the models
loaded: how frozen the window was meanwhile.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
COMMANDS = (("--version",), ("--help",), ("devices",))


@dataclass(frozen=True)
class CommandTime:
    command: str  # what was run, as typed
    median_s: float  # median wall time from process start to exit
    min_s: float  # fastest run
    max_s: float  # slowest run
    peak_mb: float  # the largest peak resident memory of a run
    exit_code: int  # of the last run (devices says 2 when there is no sound device)


@dataclass(frozen=True)
class WindowTime:
    shown_s: float  # from process start until the window was shown and painted
    steps_s: list = field(default_factory=list)  # [(what is loading, seconds since start)]
    started_s: float | None = None  # when the conversation was running (None: it could not start)
    failed: str = ""  # why it could not start (e.g. no sound device)
    worst_stall_ms: float = 0.0  # worst lateness of a 10 ms GUI timer from shown to started/failed
    worst_stall_at_s: float | None = None  # when that stall ended, seconds since start


def _run(argv: list[str], env: dict) -> tuple[float, float, int]:
    """(seconds, peak MB, exit code) of one run of `argv`."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    return seconds, usage.ru_maxrss / 1024, proc.returncode


def command_times(repeats: int = 5, uv: bool = True) -> list[CommandTime]:
    """Each of `COMMANDS`, `repeats` times in fresh processes (after one unmeasured run)."""
    runners = [([sys.executable, "main.py"], "python main.py")]
    if uv and shutil.which("uv"):
        runners.append(([shutil.which("uv"), "run", "main.py"], "uv run main.py"))
    env = dict(os.environ)
    out = []
    for prefix, name in runners:
        for args in COMMANDS:
            argv = [*prefix, *args]
            _run(argv, env)  # warm the page cache and uv's environment check
            runs = [_run(argv, env) for _ in range(repeats)]
            times = [r[0] for r in runs]
            out.append(CommandTime(f"{name} {' '.join(args)}", round(statistics.median(times), 3),
                                   round(min(times), 3), round(max(times), 3),
                                   round(max(r[1] for r in runs), 1), runs[-1][2]))
    return out


CHILD = """
import json, sys, time
from PySide6.QtCore import QObject, QTimer, Slot
from PySide6.QtWidgets import QApplication
from app.ui.app import run_window


def say(**event):
    print(json.dumps(event), flush=True)


class Watch(QObject):  # on the GUI thread: the worker's signals reach it queued
    def __init__(self, window):
        super().__init__(window)
        self.window, self.worst, self.last = window, 0.0, time.perf_counter()
        self.worst_at = self.last
        self.timer = QTimer(self)
        self.timer.setInterval(10)
        self.timer.timeout.connect(self.tick)
        self.timer.start()
        window.worker.sessionLoading.connect(self.step)
        window.worker.sessionStarted.connect(self.started)
        window.worker.sessionFailed.connect(self.failed)

    @Slot()
    def tick(self):
        now = time.perf_counter()
        if now - self.last - 0.010 > self.worst:
            self.worst, self.worst_at = now - self.last - 0.010, now
        self.last = now

    @Slot(str, int, int)
    def step(self, what, i, n):
        say(event="step", what=what)

    @Slot(str)
    def started(self, folder):
        self.end("started")

    @Slot(str)
    def failed(self, message):
        self.end("failed", message)

    def end(self, event, message=""):
        self.timer.stop()
        say(event=event, message=message, worst_stall_ms=round(1000 * self.worst, 1),
            stall_ended_ago_s=round(time.perf_counter() - self.worst_at, 3))
        QTimer.singleShot(0, self.window.close)


def shown(window):
    QApplication.processEvents()  # painted
    say(event="shown")
    window._bench_watch = Watch(window)


sys.exit(run_window(demo=True, on_shown=shown))
"""


def window_times(repeats: int = 3, timeout: float = 600.0) -> list[WindowTime]:
    """Open the demo window `repeats` times in fresh processes (settings in a temporary folder,
    so the user's own are neither read nor changed)."""
    out = []
    for _ in range(repeats):
        with tempfile.TemporaryDirectory() as config:
            env = dict(os.environ, DIA2CHAT_CONFIG_DIR=config)
            if not env.get("DISPLAY") and not env.get("WAYLAND_DISPLAY"):
                env.setdefault("QT_QPA_PLATFORM", "offscreen")
            out.append(_window_once(env, timeout))
    return out


def _window_once(env: dict, timeout: float) -> WindowTime:
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", CHILD], cwd=ROOT, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    shown, steps, started, failed, stall, stall_at = None, [], None, "", 0.0, None
    try:
        for line in proc.stdout:
            now = round(time.perf_counter() - t0, 3)
            try:
                event = json.loads(line)
            except ValueError:
                continue
            kind = event.get("event")
            if kind == "shown":
                shown = now
            elif kind == "step":
                steps.append((event["what"], now))
            elif kind in ("started", "failed"):
                started = now if kind == "started" else None
                failed, stall = event.get("message", ""), event["worst_stall_ms"]
                stall_at = round(now - event["stall_ended_ago_s"], 2)
                break
            if time.perf_counter() - t0 > timeout:
                break
    finally:
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    if shown is None:
        from app.errors import UserError

        raise UserError("the window did not open (run `main.py --demo` to see why)")
    return WindowTime(shown, steps, started, failed, stall, stall_at)
