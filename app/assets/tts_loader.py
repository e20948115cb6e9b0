"""One place that turns the user's model choice into a ready `Dia2Engine` with its Mimi codec.

`--demo` builds (once, then caches) the tiny random-weight Dia2 and Mimi; otherwise the checkpoint
and codec are resolved through huggingface_hub (downloaded once with a progress bar, then cached;
`HF_HUB_OFFLINE=1` works once cached) or taken from local paths.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from app.assets.demo_dia2 import demo_cache_root, ensure_demo_dia2

log = logging.getLogger(__name__)

DEFAULT_MODEL = "auto"  # Dia2-2B on a GPU with room for it, else Dia2-1B (app.assets.setup)
DEMO_MIMI_FILE = "mimi-demo-v1.safetensors"


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


def ensure_demo_mimi(root: Path | None = None) -> Path:
    """The demo Mimi weights file, built on first use."""
    from app.assets.demo_mimi import save_demo_mimi

    root = root or demo_cache_root()
    path = root / DEMO_MIMI_FILE
    if not path.is_file():
        root.mkdir(parents=True, exist_ok=True)
        save_demo_mimi(path)  # writes a temporary file, then renames
    return path


def load_tts(choice: TtsChoice):
    """Load Dia2 and Mimi as chosen; returns a `Dia2Engine` with its codec attached."""
    from app.codec.mimi import MimiCodec
    from app.tts.engine import Dia2Engine, resolve_device

    device = resolve_device(choice.device)
    from app.assets.hub import read_assets, resolve_dia2, resolve_mimi

    if choice.demo:
        assets = read_assets(ensure_demo_dia2())
        mimi_path = ensure_demo_mimi()
    else:
        from app.assets.setup import choose_dia2

        picked = choose_dia2(choice.model, str(device), precision=choice.precision)
        if picked.reason:
            log.info("Dia2 model %s: %s", picked.model, picked.reason)
        assets = read_assets(resolve_dia2(picked.model, progress=choice.progress))
        # The user's --mimi first, then a codec file the checkpoint names, then the default.
        mimi_path = (assets.mimi if choice.mimi is None and assets.mimi is not None
                     else resolve_mimi(choice.mimi, progress=choice.progress))
    engine = Dia2Engine.load_files(assets.config, assets.weights, assets.tokenizer,
                                   device=str(device), precision=choice.precision,
                                   use_cuda_graphs=choice.cuda_graphs)
    engine.codec = MimiCodec.load(mimi_path, device=device,
                                  num_codebooks=engine.config.data.num_codebooks)
    return engine
