"""Model checks: what the chosen setup needs, what is cached, offline readiness, where files live.

The memory a setup needs comes from `app.assets.sizes` (counted from the published shapes, per
precision; see there). When the chosen Dia2 checkpoint is cached, its parameter count is read
from its safetensors header instead. `check_memory` shows the setup part by part, with its total
on the GPU and on disk.
"""

from __future__ import annotations

import json
import logging
import os
import struct
from math import prod
from pathlib import Path

from app.assets import hub, sizes
from app.core import APP_NAME
from app.diagnostics.checks import Check, DoctorOptions
from app.errors import UserError
from app.paths import app_cache_dir, sessions_root, user_characters_dir

log = logging.getLogger(__name__)

GIB = 2**30
DEMO_NEED_BYTES = int(0.5 * GIB)  # estimate: the CUDA context; the demo models are tiny


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


def _cached_shape(options: DoctorOptions) -> sizes.Dia2Size | None:
    """The Dia2 checkpoint's size from its files (parameters from the weights' header, cache
    shape from config.json), when it is on disk."""
    folder = Path(options.model)
    if not folder.is_dir():
        folder = _snapshot(options.model, options.cache_dir)
    if folder is None:
        return None
    try:
        assets = hub.read_assets(folder)
        params = safetensors_params(assets.weights)
        raw = json.loads(assets.config.read_text(encoding="utf-8"))
        dec = raw["model"]["decoder"]
        steps = int(raw.get("runtime", {}).get("max_context_steps", 1500))
        return sizes.Dia2Size(params, assets.weights.stat().st_size, True, int(dec["n_layer"]),
                              int(dec["kv_heads"]), int(dec["gqa_head_dim"]), steps + 1)
    except (UserError, OSError, ValueError, KeyError, TypeError) as exc:
        log.debug("cannot read the size of %s: %s", folder, exc)
        return None


def asr_choice(options: DoctorOptions) -> tuple[str, str, bool]:
    """(recognition model size or spec, its Hub repository, whether it runs on the GPU) as the
    app's recogniser picks them (on the GPU when CTranslate2 sees one)."""
    from app.asr.models import WHISPER_REPOS
    from app.asr.recognizer import DEFAULT_MODELS, pick_device

    on_gpu = pick_device("auto").startswith("cuda")
    spec = DEFAULT_MODELS["cuda" if on_gpu else "cpu"] if options.asr == "auto" else options.asr
    return spec, WHISPER_REPOS.get(spec, spec), on_gpu


def memory_parts(options: DoctorOptions, cuda: bool = True) -> tuple[list[sizes.Part], str]:
    """(the setup's memory part by part, where the Dia2 figure comes from)."""
    shape = _cached_shape(options)
    basis = ("Dia2 counted from its cached weights" if shape is not None
             else "Dia2 from the published shape" if options.model in sizes.DIA2_SIZES
             else "Dia2 not known here: the 2B's figures")
    spec, _repo, asr_gpu = asr_choice(options)
    parts = sizes.setup_parts(
        options.model, precision=options.precision, asr=spec if asr_gpu else None,
        llm=options.llm or None, dia2_size=shape, cuda=cuda)
    if not asr_gpu and spec in sizes.ASR_SIZES:  # on the CPU: disk only
        rec = sizes.ASR_SIZES[spec]
        parts.insert(3, sizes.Part(f"{rec.name} (recogniser, on the CPU)", 0, rec.disk_bytes,
                                   "count"))
    return parts, basis


def gpu_need(options: DoctorOptions, cuda: bool = True) -> tuple[int, str]:
    """(bytes of GPU memory the chosen setup needs, how that was worked out)."""
    if options.demo:
        return DEMO_NEED_BYTES, "demo: estimate"
    parts, basis = memory_parts(options, cuda=True)
    return sizes.total_gpu(parts), (f"{basis}, {sizes.check_precision(options.precision)} "
                                    "precision; the CUDA context estimated")


def check_memory(options: DoctorOptions, cuda: bool) -> list[Check]:
    """The setup's memory part by part: GPU memory (counted from the shapes) and disk."""
    if options.demo:
        return []
    parts, basis = memory_parts(options, cuda=True)
    gpu, disk = sizes.total_gpu(parts), sizes.total_disk(parts)
    lines = "; ".join(f"{p.name} {sizes.gib(p.gpu_bytes)}" for p in parts if p.gpu_bytes)
    needs = "needs" if cuda else "would need (with a GPU; none is used here)"
    detail = f"the setup {needs} {sizes.gib(gpu)} of GPU memory: {lines}. Disk: {sizes.gib(disk)}"
    data = {"gpu_bytes": gpu, "disk_bytes": disk, "basis": basis,
            "precision": sizes.check_precision(options.precision),
            "parts": [{"name": p.name, "gpu_bytes": p.gpu_bytes, "disk_bytes": p.disk_bytes,
                       "basis": p.basis} for p in parts]}
    return [Check("memory", "ok", detail, data=data)]


def needed_repos(options: DoctorOptions) -> list[str]:
    """The Hub repositories the chosen setup loads (none for the demo or local folders)."""
    if options.demo:
        return []
    repos = [] if Path(options.model).is_dir() else [options.model]
    repos.append(hub.MIMI_REPO)
    spec, asr_repo, _ = asr_choice(options)
    if not Path(spec).expanduser().is_dir():
        repos.append(asr_repo)
    if options.llm and hub.is_repo_id(options.llm) and not Path(options.llm).exists():
        repos.append(options.llm)
    return repos


def _gib(n: int) -> str:
    return f"{n / GIB:.2f} GiB" if n >= 0.01 * GIB else f"{n / 2**20:.1f} MiB"


def _packaged_check() -> Check:
    """The demo's real models, installed as packages: Whisper base and SmolLM2."""
    from app.assets import packaged

    try:
        parts = packaged.whisper_parts()
        gguf = packaged.packaged_reply_model()
    except UserError as exc:
        return Check("packaged models", "fail", str(exc), "run `uv sync` in the project folder")
    return Check("packaged models", "ok",
                 f"Whisper base ({parts[0].parent.name} + {parts[1].parent.name}) and "
                 f"SmolLM2-135M-Instruct ({gguf.name}) are installed",
                 data={"whisper": [str(p) for p in parts], "reply_model": str(gguf)})


def check_models(options: DoctorOptions, cuda: bool) -> list[Check]:
    """One line per needed model (cached? how big?) and one on running offline."""
    if options.demo:
        root = app_cache_dir()
        built = any(root.glob("*/model.safetensors"))
        state = "built" if built else "built on first use (a few seconds)"
        return [Check("demo models", "ok", f"tiny random Dia2 and Mimi, {state}, in {root}",
                      data={"path": str(root), "built": built}),
                _packaged_check(),
                Check("offline", "ok", "the demo needs no download", data={"offline_ok": True})]
    out: list[Check] = []
    if Path(options.model).is_dir():
        try:
            hub.read_assets(options.model)
            out.append(Check("model folder", "ok", f"Dia2 checkpoint in {options.model}"))
        except UserError as exc:
            out.append(Check("model folder", "fail", str(exc), "point --model at a complete "
                             "Dia2 checkpoint folder"))
    repos = needed_repos(options)
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
