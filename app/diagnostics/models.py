"""Model checks: what the chosen setup needs, what is cached, offline readiness, where files live.

`MODEL_NEEDS` is the one table of what each model takes on the GPU. No published checkpoint has
been measured on a GPU by this project yet, so every entry is an estimate from the parameter
count (`measured=False`): bytes per parameter as the model runs (bfloat16 / float16: 2), plus
`RUNTIME_OVERHEAD_BYTES` once for the CUDA context, the Dia2 caches of the 2-minute context with
guidance (batch 2), CUDA-graph pools and activations. When a checkpoint is cached, its parameter
count is read from its safetensors header instead of the table.
"""

from __future__ import annotations

import json
import logging
import os
import struct
from dataclasses import dataclass
from math import prod
from pathlib import Path

from app.diagnostics import Check, DoctorOptions
from app.errors import UserError
from app.models import hub

log = logging.getLogger(__name__)

GIB = 2**30


@dataclass(frozen=True)
class ModelNeed:
    """What one model takes on the GPU."""

    params: float  # number of parameters
    bytes_per_param: int  # as it runs: 2 for bfloat16 / float16
    measured: bool  # True: measured on a GPU; False: estimated from the parameter count
    what: str  # what the model is, for people reading the table

    @property
    def gpu_bytes(self) -> int:
        return int(self.params * self.bytes_per_param)


MODEL_NEEDS: dict[str, ModelNeed] = {
    "nari-labs/Dia2-1B": ModelNeed(1.0e9, 2, False, "Dia2 1B in bfloat16 (count from its name)"),
    "nari-labs/Dia2-2B": ModelNeed(2.0e9, 2, False, "Dia2 2B in bfloat16 (count from its name)"),
    hub.MIMI_REPO: ModelNeed(0.1e9, 2, False, "Mimi codec, about 0.1 B parameters"),
    "large-v3-turbo": ModelNeed(0.81e9, 2, False, "Whisper large-v3-turbo float16 (recogniser "
                                "on the GPU), 809 M parameters"),
}
RUNTIME_OVERHEAD_BYTES = int(1.5 * GIB)  # estimate: CUDA context, caches, graph pools
DEMO_NEED_BYTES = int(0.5 * GIB)  # estimate: the CUDA context; the demo models are tiny
ASR_DEFAULTS = {"cpu": "base.en", "cuda": "large-v3-turbo"}  # as app.asr.recognizer picks


def safetensors_params(path: Path) -> int:
    """The number of parameters in a safetensors file, read from its header only.

    Raises ValueError when the file is not in the safetensors format.
    """
    with open(path, "rb") as f:
        head = f.read(8)
        if len(head) < 8:
            raise ValueError(f"{path} is too short for a safetensors file")
        (length,) = struct.unpack("<Q", head)
        if length > min(path.stat().st_size, 2**27):
            raise ValueError(f"{path} has no safetensors header")
        try:
            header = json.loads(f.read(length))
            return sum(prod(v["shape"]) for k, v in header.items() if k != "__metadata__")
        except (UnicodeDecodeError, json.JSONDecodeError, AttributeError, KeyError,
                TypeError) as exc:
            raise ValueError(f"{path} has a malformed safetensors header ({exc})") from exc


def _snapshot(repo: str, cache_dir: Path | None) -> Path | None:
    """A cached snapshot of a Dia2 repository that holds every file it needs, newest first."""
    for m in hub.cached_models([repo], cache_dir=cache_dir):
        snaps = sorted((m.path / "snapshots").glob("*"), key=lambda p: p.stat().st_mtime,
                       reverse=True)
        for snap in snaps:
            try:
                hub.read_assets(snap)
            except UserError:
                continue
            return snap
    return None


def _dia2_need(options: DoctorOptions) -> tuple[int, str]:
    """(GPU bytes of the Dia2 weights, where the figure comes from)."""
    folder = Path(options.model)
    if not folder.is_dir():
        folder = _snapshot(options.model, options.cache_dir)
    if folder is not None:
        try:
            weights = hub.read_assets(folder).weights
            return safetensors_params(weights) * 2, "Dia2 from its cached weights"
        except (UserError, OSError, ValueError) as exc:
            log.debug("cannot read the parameter count of %s: %s", folder, exc)
    need = MODEL_NEEDS.get(options.model, MODEL_NEEDS[hub.DEFAULT_DIA2_REPO])
    return need.gpu_bytes, "Dia2 estimated from its parameter count"


def asr_choice(options: DoctorOptions, cuda: bool) -> tuple[str, str]:
    """(recognition model size or spec, its Hub repository) the app would load."""
    from app.asr.models import WHISPER_REPOS

    spec = ASR_DEFAULTS["cuda" if cuda else "cpu"] if options.asr == "auto" else options.asr
    return spec, WHISPER_REPOS.get(spec, spec)


def gpu_need(options: DoctorOptions, cuda: bool = True) -> tuple[int, str]:
    """(bytes of GPU memory the chosen setup needs, how that was worked out)."""
    if options.demo:
        return DEMO_NEED_BYTES, "demo: estimate"
    dia2, basis = _dia2_need(options)
    total = dia2 + MODEL_NEEDS[hub.MIMI_REPO].gpu_bytes + RUNTIME_OVERHEAD_BYTES
    spec, _ = asr_choice(options, cuda)
    if cuda and spec in MODEL_NEEDS:
        total += MODEL_NEEDS[spec].gpu_bytes
    return total, f"{basis}; codec, recogniser and runtime overhead estimated"


def needed_repos(options: DoctorOptions, cuda: bool) -> list[str]:
    """The Hub repositories the chosen setup loads (none for the demo or local folders)."""
    if options.demo:
        return []
    repos = [] if Path(options.model).is_dir() else [options.model]
    repos.append(hub.MIMI_REPO)
    spec, asr_repo = asr_choice(options, cuda)
    if not Path(spec).expanduser().is_dir():
        repos.append(asr_repo)
    return repos


def _gib(n: int) -> str:
    return f"{n / GIB:.2f} GiB" if n >= 0.01 * GIB else f"{n / 2**20:.1f} MiB"


def check_models(options: DoctorOptions, cuda: bool) -> list[Check]:
    """One line per needed model (cached? how big?) and one on running offline."""
    if options.demo:
        from app.models.demo_dia2 import demo_cache_root

        root = demo_cache_root()
        built = any(root.glob("*/model.safetensors"))
        state = "built" if built else "built on first use (a few seconds)"
        return [Check("demo models", "ok", f"tiny random models, {state}, in {root}",
                      data={"path": str(root), "built": built}),
                Check("offline", "ok", "the demo needs no download", data={"offline_ok": True})]
    out: list[Check] = []
    if Path(options.model).is_dir():
        try:
            hub.read_assets(options.model)
            out.append(Check("model folder", "ok", f"Dia2 checkpoint in {options.model}"))
        except UserError as exc:
            out.append(Check("model folder", "fail", str(exc), "point --model at a complete "
                             "Dia2 checkpoint folder"))
    repos = needed_repos(options, cuda)
    cached = {m.repo_id: m for m in hub.cached_models(repos, cache_dir=options.cache_dir)}
    offline = hub.is_offline()
    missing = [r for r in repos if r not in cached or not cached[r].complete]
    fetch = "uv run main.py download" + "".join(
        f" --model {r}" for r in missing if r != hub.MIMI_REPO)
    for repo in repos:
        m = cached.get(repo)
        data = {"repo": repo, "cached": m is not None, "complete": bool(m and m.complete),
                "size_bytes": m.size_bytes if m else 0, "path": str(m.path) if m else None}
        if m is not None and m.complete:
            out.append(Check(f"model {repo}", "ok", f"cached, {_gib(m.size_bytes)} in {m.path}",
                             data=data))
            continue
        state = (f"partly downloaded ({_gib(m.size_bytes)})" if m is not None else "not cached")
        later = "and HF_HUB_OFFLINE is set" if offline else "(the first run downloads it)"
        one = "" if repo == hub.MIMI_REPO else f" --model {repo}"  # Mimi always comes along
        out.append(Check(f"model {repo}", "fail" if offline else "warn", f"{state} {later}",
                         f"run `uv run main.py download{one}` while online (it resumes)",
                         data=data))
    if not missing:
        how = "HF_HUB_OFFLINE is set" if offline else "set HF_HUB_OFFLINE=1 to be sure"
        out.append(Check("offline", "ok", f"can run offline: every model it needs is cached ({how})",
                         data={"offline_ok": True, "missing": []}))
    else:
        names = ", ".join(missing)
        out.append(Check("offline", "fail" if offline else "warn",
                         f"cannot run offline: {names} missing from the cache",
                         f"run `{fetch}` while online", data={"offline_ok": False,
                                                              "missing": missing}))
    return out


def check_folders(options: DoctorOptions) -> list[Check]:
    """Where the app keeps its files (informational: always ok)."""
    from huggingface_hub import constants
    from platformdirs import user_cache_dir, user_config_dir

    from app.conversation.character import APP_NAME, user_characters_dir
    from app.conversation.session import sessions_root

    folders = {
        "characters": user_characters_dir(),
        "recordings": sessions_root(),
        "settings": _settings_file(Path(user_config_dir(APP_NAME))),
        "app cache": Path(user_cache_dir(APP_NAME)),
        "model cache": Path(options.cache_dir or os.environ.get("HF_HUB_CACHE")
                            or constants.HF_HUB_CACHE),
    }
    return [Check(f"folder {what}", "ok",
                  f"{path}{'' if path.exists() else ' (not created yet)'}",
                  data={"path": str(path), "exists": path.exists()})
            for what, path in folders.items()]


def _settings_file(default_dir: Path) -> Path:
    """The desktop app's settings file (app.settings), or its folder while that is missing."""
    try:
        from app.settings import settings_path
    except ImportError:
        return default_dir
    return settings_path()
