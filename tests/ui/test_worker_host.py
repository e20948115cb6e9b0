"""A WorkerHost ends its thread however it goes away; Qt would otherwise abort the whole process
("QThread: Destroyed while thread is still running"). Each case runs in a child process, since
the failure is an abort."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from tests.conftest import ROOT

PRELUDE = """
import os
os.environ["QT_QPA_PLATFORM"] = "offscreen"
from PySide6.QtCore import QObject
from PySide6.QtWidgets import QApplication, QWidget
from app.workers.host import WorkerHost
app = QApplication([])
"""

CASES = {
    # the owner never calls close(): the parent widget is deleted with the host inside it
    "parent deleted": """
parent = QWidget()
host = WorkerHost(QObject(), "test-host", 5.0, parent)
parent.deleteLater()
app.processEvents()
from PySide6.QtCore import QCoreApplication, QEvent
QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
print("alive")
""",
    # the application quits while the host's thread still runs
    "application quits": """
from PySide6.QtCore import QTimer
host = WorkerHost(QObject(), "test-host", 5.0, None)
QTimer.singleShot(0, app.quit)
app.exec()
del host
print("alive")
""",
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_thread_ends_without_close(case):
    code = textwrap.dedent(PRELUDE) + textwrap.dedent(CASES[case])
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "alive" in out.stdout and "Destroyed while thread" not in out.stderr
