"""doctor's Python check agrees with the range pyproject.toml declares."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from app.diagnostics.system import PYTHON_RANGE, check_python

ROOT = Path(__file__).resolve().parents[2]


def test_python_range_is_pyprojects():
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    low = re.search(r">=\s*(\d+)\.(\d+)", declared)
    high = re.search(r"<\s*(\d+)\.(\d+)", declared)
    assert low and high, declared
    assert PYTHON_RANGE == ((int(low[1]), int(low[2])), (int(high[1]), int(high[2])))


def test_this_python_passes():
    assert check_python().status == "ok"
