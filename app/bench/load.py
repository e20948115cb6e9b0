"""Loading figures: wall time and peak memory of loading a Dia2 checkpoint folder, measured in a
fresh process so that nothing else the caller did counts.

    python -m app.bench.load FOLDER [--device cpu] [--precision float32] [--cold]

prints one JSON object (`LoadBench`). The child imports the runtime and reads `config.json`,
notes its resident memory, then allocates the model and fills it from `model.safetensors` with
`Dia2Model.empty` and `load_weights` (the steps `Dia2Engine.load_folder`, and so `say` and the
window, take for the weights), and reads its peak resident memory (`ru_maxrss`):
`peak_rss_mb - rss_before_mb` is what loading the weights added. The tokenizer, whose memory does
not grow with the model, is left out.

`--precision` is one of app/tts/precision.py's modes, taken as it is on any device (a measurement
may load `fast`'s bfloat16 weights on the CPU, which the app itself refuses to run there).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class LoadBench:
    """One load's figures."""

    folder: str  # the checkpoint folder
    device: str  # where the weights went
    precision: str  # the precision mode (app/tts/precision.py)
    dtype: str  # the weights' dtype there
    cold: bool  # the file's pages were dropped from the page cache first
    file_bytes: int  # size of model.safetensors
    weights_bytes: int  # bytes of the loaded parameters (as allocated in the mode)
    load_s: float  # wall time of allocating the model and reading the weights into it
    rss_before_mb: float  # resident memory just before loading (modules imported, no weights)
    peak_rss_mb: float  # the process's peak resident memory after loading
    gpu_peak_mb: float | None  # peak GPU memory allocated by torch (CUDA only)


def _rss_mb() -> float:
    """Current resident memory (Linux: /proc; elsewhere the peak so far)."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
        import os

        return pages * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        return _peak_mb()


def _peak_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024  # bytes on macOS, KiB else


def measure_here(folder: str | Path, device: str = "cpu", precision: str = "float32",
                 cold: bool = False) -> LoadBench:
    """Load `folder` in this process and measure (meaningful only in a fresh process)."""
    import torch

    from app.torch_device import resolve_torch_device
    from app.tts.config import load_config
    from app.tts.model import Dia2Model
    from app.tts.precision import FAST_BF16, FLOAT32, REFERENCE_BF16
    from app.tts.weights import drop_file_cache, load_weights

    weights = Path(folder) / "model.safetensors"
    if cold and not drop_file_cache(weights):
        raise SystemExit("--cold needs posix_fadvise (Linux)")
    dev = resolve_torch_device(device)
    modes = {p.name: p for p in (FLOAT32, REFERENCE_BF16, FAST_BF16)}
    if precision not in modes:
        raise SystemExit(f"--precision: one of {', '.join(modes)}")
    prec = modes[precision]
    config = load_config(Path(folder) / "config.json")
    before = _rss_mb()
    t0 = time.perf_counter()
    model = Dia2Model.empty(config, dev, prec)
    load_weights(model, weights)
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)
    load_s = time.perf_counter() - t0
    nbytes = sum(t.numel() * t.element_size() for t in model.checkpoint_tensors().values())
    return LoadBench(
        folder=str(folder),
        device=str(dev),
        precision=prec.name,
        dtype=str(prec.weights).replace("torch.", ""),
        cold=cold,
        file_bytes=weights.stat().st_size,
        weights_bytes=nbytes,
        load_s=round(load_s, 3),
        rss_before_mb=round(before, 1),
        peak_rss_mb=round(_peak_mb(), 1),
        gpu_peak_mb=round(torch.cuda.max_memory_allocated(dev) / 2**20, 1) if dev.type == "cuda" else None,
    )


def measure_in_child(folder: str | Path, device: str = "cpu", precision: str = "float32",
                     cold: bool = False, env: dict[str, str] | None = None,
                     timeout: float = 900) -> LoadBench:
    """Run `measure_here` in a fresh Python process and return its figures."""
    cmd = [sys.executable, "-m", "app.bench.load", str(folder), "--device", device,
           "--precision", precision]
    if cold:
        cmd.append("--cold")
    out = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    if out.returncode != 0:
        raise RuntimeError(f"loading {folder} failed (exit {out.returncode}): {out.stderr.strip()[-2000:]}")
    return LoadBench(**json.loads(out.stdout.strip().splitlines()[-1]))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m app.bench.load", description=__doc__.split("\n\n")[0])
    p.add_argument("folder")
    p.add_argument("--device", default="cpu")
    p.add_argument("--precision", default="float32", help="float32, reference or fast")
    p.add_argument("--cold", action="store_true", help="drop the file from the page cache first")
    args = p.parse_args(argv)
    import app.tts.engine  # noqa: F401  (the runtime, torch included, is imported before the baseline)

    print(json.dumps(asdict(measure_here(args.folder, args.device, args.precision, args.cold))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
