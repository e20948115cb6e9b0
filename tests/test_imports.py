"""How the code imports: what start-up loads, and which package may import which.

Start-up: `main.py --version`, `--help` and the light commands answer at once because building
the command line, reading the settings and the characters and naming the conversation's events
import none of the models' stack (torch, transformers, faster-whisper, moshi) and no Qt. Checked
in a fresh interpreter through `sys.modules`, as the Qt rule is checked in tests/ui/test_window.py.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

HEAVY = ("torch", "transformers", "faster_whisper", "ctranslate2", "moshi", "PySide6")

START_UP = """
import json, sys
import app.cli
app.cli.build_parser()
import app.settings, app.conversation.character, app.conversation.events
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in {heavy})))
"""


def test_start_up_imports_neither_torch_nor_qt():
    code = START_UP.format(heavy=set(HEAVY))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=ROOT)
    loaded = json.loads(out.stdout)
    assert "torch" not in loaded, "start-up imports torch"
    assert loaded == [], f"start-up imports {loaded}"
