"""One place that turns the user's model choice into a ready `Dia2Engine` with its Mimi codec.

`--demo` builds (once, then caches) the tiny random-weight Dia2 and Mimi; otherwise the checkpoint
and codec are resolved through huggingface_hub (downloaded once with a progress bar, then cached;
`HF_HUB_OFFLINE=1` works once cached) or taken from local paths.
"""

from __future__ import annotations

import logging
from pathlib import Path

from app.assets.choice import TtsChoice
from app.paths import app_cache_dir

log = logging.getLogger(__name__)

DEMO_MIMI_FILE = "mimi-demo-v1.safetensors"


def ensure_demo_mimi(root: Path | None = None) -> Path:
    """The demo Mimi weights file, built on first use."""
    from app.assets.demo_mimi import save_demo_mimi

    root = root or app_cache_dir()
    path = root / DEMO_MIMI_FILE
    if not path.is_file():
        root.mkdir(parents=True, exist_ok=True)
        save_demo_mimi(path)  # writes a temporary file, then renames
    return path


def load_tts(choice: TtsChoice):
    """Load Dia2 and Mimi as chosen; returns a `Dia2Engine` with its codec attached."""
    from app.assets.demo_dia2 import ensure_demo_dia2
    from app.codec.mimi import MimiCodec
    from app.torch_device import resolve_torch_device
    from app.tts.engine import Dia2Engine

    device = resolve_torch_device(choice.device)
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
