"""Checks of the machine itself: Python, library versions, PortAudio (the GPU: `gpu`)."""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import logging
import sys

from app.diagnostics.checks import Check

log = logging.getLogger(__name__)

PYTHON_RANGE = ((3, 11), (3, 14))  # pyproject's requires-python: >=3.11,<3.14
GIB = 2**30

# (distribution name, module name, required): the libraries whose versions matter.
PACKAGES = (
    ("torch", "torch", True),
    ("moshi", "moshi", True),
    ("faster-whisper", "faster_whisper", True),
    ("ctranslate2", "ctranslate2", True),
    ("huggingface-hub", "huggingface_hub", True),
    ("pyside6-essentials", "PySide6", False),
)


def check_python() -> Check:
    v = sys.version_info
    low, high = PYTHON_RANGE
    text = f"{v.major}.{v.minor}.{v.micro}"
    if low <= (v.major, v.minor) < high:
        return Check("python", "ok", f"Python {text}", data={"version": text})
    return Check("python", "fail", f"Python {text} is not supported",
                 f"use Python {low[0]}.{low[1]} to {high[0]}.{high[1] - 1} (uv picks one: uv sync)",
                 data={"version": text})


def package_version(dist: str, module: str) -> str | None:
    """The installed version of a library, or None when it is not installed."""
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        pass
    if importlib.util.find_spec(module) is None:
        return None
    try:
        return str(getattr(importlib.import_module(module), "__version__", "unknown"))
    except Exception as exc:  # a broken install: report, do not crash the doctor
        log.debug("importing %s failed: %s", module, exc)
        return None


def check_packages() -> list[Check]:
    out = []
    for dist, module, required in PACKAGES:
        version = package_version(dist, module)
        name = f"library {module}"
        if version is not None:
            out.append(Check(name, "ok", f"{dist} {version}", data={"version": version}))
        elif required:
            out.append(Check(name, "fail", f"{dist} is not installed",
                             "run `uv sync` in the project folder", data={"version": None}))
        else:
            out.append(Check(name, "warn", f"{dist} is not installed (the desktop window needs it)",
                             "run `uv sync` in the project folder", data={"version": None}))
    return out


def check_portaudio() -> Check:
    try:
        import sounddevice
    except OSError:
        return Check("portaudio", "fail", "the PortAudio library is missing, so no sound device "
                     "can be opened", "install libportaudio2 (Debian/Ubuntu: sudo apt install "
                     "libportaudio2; macOS: brew install portaudio)")
    text = sounddevice.get_portaudio_version()[1]
    return Check("portaudio", "ok", f"sounddevice {sounddevice.__version__}, {text}",
                 data={"version": text, "sounddevice": sounddevice.__version__})
