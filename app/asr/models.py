"""Where recognition models come from: a local folder, or a size name fetched from the Hub.

A size name ("base.en", "large-v3-turbo"...) or a Hub repository id is looked up in the local
Hugging Face cache first, so a cached model loads offline with no network call at all. Only when
it is missing, and downloads are allowed (and `HF_HUB_OFFLINE` is not set), is it fetched with
`huggingface_hub.snapshot_download` and a tqdm progress bar.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from app.errors import UserError

log = logging.getLogger(__name__)

#: faster-whisper (CTranslate2) conversions of the Whisper checkpoints, by size name.
WHISPER_REPOS = {
    "tiny.en": "Systran/faster-whisper-tiny.en",
    "tiny": "Systran/faster-whisper-tiny",
    "base.en": "Systran/faster-whisper-base.en",
    "base": "Systran/faster-whisper-base",
    "small.en": "Systran/faster-whisper-small.en",
    "small": "Systran/faster-whisper-small",
    "medium.en": "Systran/faster-whisper-medium.en",
    "medium": "Systran/faster-whisper-medium",
    "distil-small.en": "Systran/faster-distil-whisper-small.en",
    "distil-medium.en": "Systran/faster-distil-whisper-medium.en",
    "distil-large-v3": "Systran/faster-distil-whisper-large-v3",
    "large-v3": "Systran/faster-whisper-large-v3",
    "large-v3-turbo": "mobiuslabsgmbh/faster-whisper-large-v3-turbo",
}

#: The files a CTranslate2 Whisper folder needs.
MODEL_FILES = [
    "config.json",
    "preprocessor_config.json",
    "model.bin",
    "tokenizer.json",
    "vocabulary.*",
]


def is_model_folder(path: Path) -> bool:
    """Whether `path` looks like a CTranslate2 Whisper model folder."""
    return (path / "model.bin").is_file() and (path / "config.json").is_file()


def _offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}


def resolve_model(
    spec: str, cache_dir: str | Path | None = None, allow_download: bool = True
) -> Path:
    """Turn a model spec into a local folder faster-whisper can load.

    Args:
        spec: a folder, a size name from `WHISPER_REPOS`, or a Hub repo id ("owner/name").
        cache_dir: Hugging Face cache folder; None for the usual one (`HF_HOME`).
        allow_download: fetch a missing model (never when `HF_HUB_OFFLINE` is set).

    Raises:
        UserError: the folder is not a model, the name is unknown, or the model is not cached
            and cannot be fetched.
    """
    path = Path(spec).expanduser()
    if path.is_dir():
        if not is_model_folder(path):
            raise UserError(
                f"{path} is not a faster-whisper model folder (it needs model.bin and "
                "config.json); convert the model with ct2-transformers-converter or pass a size "
                f"name such as {', '.join(list(WHISPER_REPOS)[:4])}"
            )
        return path
    if spec in WHISPER_REPOS:
        repo = WHISPER_REPOS[spec]
    elif spec.count("/") == 1 and not spec.startswith((".", "/", "~")):
        repo = spec
    else:
        raise UserError(
            f"unknown recognition model {spec!r}: pass an existing folder or one of "
            f"{', '.join(WHISPER_REPOS)}"
        )
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    try:
        folder = snapshot_download(
            repo, cache_dir=cache_dir, allow_patterns=MODEL_FILES, local_files_only=True
        )
        if is_model_folder(Path(folder)):
            return Path(folder)
    except (LocalEntryNotFoundError, FileNotFoundError):
        pass
    if not allow_download or _offline():
        raise UserError(
            f"the recognition model {spec!r} ({repo}) is not in the local cache and downloads "
            "are off; run once with network access, or pass a model folder"
        )
    from tqdm.auto import tqdm

    log.info("downloading %s", repo)
    try:
        folder = snapshot_download(
            repo, cache_dir=cache_dir, allow_patterns=MODEL_FILES, tqdm_class=tqdm
        )
    except Exception as exc:  # network, auth and disk errors all mean "could not fetch"
        raise UserError(f"could not download the recognition model {repo}: {exc}") from exc
    return Path(folder)
