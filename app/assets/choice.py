"""What Dia2 setup to load: the user's model choice, before anything heavy is imported.

`app.assets.tts_loader.load_tts` turns a `TtsChoice` into a ready engine; the command line, the
window's settings and `download` all start from here.
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_MODEL = "auto"  # Dia2-2B on a GPU with room for it, else Dia2-1B (app.assets.setup)


@dataclass(frozen=True)
class TtsChoice:
    """What to load."""

    model: str = DEFAULT_MODEL  # repo id or local folder of the Dia2 checkpoint, or "auto"
    mimi: str | None = None  # Mimi weights (file, folder or repo id); None: moshi's default repo
    demo: bool = False  # use the locally built tiny random models instead
    device: str = "auto"  # auto, cpu, cuda, cuda:N
    precision: str = "auto"  # auto, float32, reference, fast (see app/tts/precision.py)
    cuda_graphs: bool = True  # capture each frame in CUDA graphs on the GPU
    progress: bool = True  # show download progress bars
