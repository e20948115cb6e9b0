"""PyInstaller runtime hook: make sounddevice load the PortAudio library inside the bundle.

sounddevice finds PortAudio with `ctypes.util.find_library("portaudio")`, which searches the
system, not the bundle; on a machine without libportaudio2 that fails although the bundle holds a
copy. This hook answers that one query with the bundled file when there is one.
"""

import ctypes.util
import sys
from pathlib import Path

_bundle = Path(getattr(sys, "_MEIPASS", ""))
_bundled = sorted(_bundle.glob("libportaudio.so*")) if _bundle.name else []
if _bundled:
    _system_find_library = ctypes.util.find_library

    def _find_library(name: str):
        if name == "portaudio":
            return str(_bundled[0])
        return _system_find_library(name)

    ctypes.util.find_library = _find_library
