"""Where model files come from: a local folder, or a Hugging Face repository fetched on demand.

Downloads go through `huggingface_hub` into the standard Hugging Face cache (shared with other
tools) unless a `cache_dir` is given; they show progress, fetch only the files the app needs, and
resume where an interrupted download stopped. With `HF_HUB_OFFLINE=1` (read at call time) nothing
is fetched and the cache must already hold the files. `HF_ENDPOINT` (also read at call time) or an
explicit `endpoint` points at another server in the hub layout, which is how the tests run.

Every failure a user can fix becomes a `UserError` that says what to do.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import requests
from huggingface_hub import constants, scan_cache_dir, snapshot_download
from huggingface_hub.errors import (
    CacheNotFound,
    GatedRepoError,
    HFValidationError,
    LocalEntryNotFoundError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)
from huggingface_hub.utils import (
    are_progress_bars_disabled,
    disable_progress_bars,
    enable_progress_bars,
)

from app.errors import UserError, first_line
from app.tts.tokenizer import TOKENIZER_FILES, enough_tokenizer_files, has_tokenizer

log = logging.getLogger(__name__)

DIA2_REPOS = ("nari-labs/Dia2-1B", "nari-labs/Dia2-2B")  # the published Dia2 checkpoints
DEFAULT_DIA2_REPO = "nari-labs/Dia2-2B"  # the checkpoint used when none is named
MIMI_REPO = "kyutai/moshiko-pytorch-bf16"  # moshi.models.loaders.DEFAULT_REPO
MIMI_FILE = "tokenizer-e351c8d8-checkpoint125.safetensors"  # moshi.models.loaders.MIMI_NAME
ASSETS_FILE = "dia2_assets.json"  # optional file naming a checkpoint's other files
DIA2_DEFAULT_FILES = {  # the files a Dia2 checkpoint needs, by dia2_assets.json key
    "config": "config.json",
    "weights": "model.safetensors",
    "tokenizer": "tokenizer.json",
}
_REPO_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


@dataclass(frozen=True)
class Dia2Assets:
    """The files of one Dia2 checkpoint, all checked to exist."""

    folder: Path  # the checkpoint's folder (a local folder or a cache snapshot)
    config: Path  # config.json (or what dia2_assets.json names for "config")
    weights: Path  # model.safetensors (or dia2_assets.json "weights")
    tokenizer: Path  # the folder holding the tokenizer files, or the file dia2_assets.json names
    mimi: Path | None  # a moshi-layout Mimi file named by dia2_assets.json "mimi"; None: default


@dataclass(frozen=True)
class CachedModel:
    """One repository found in the Hugging Face cache."""

    repo_id: str  # e.g. "nari-labs/Dia2-2B"
    size_bytes: int  # disk used by all its cached revisions
    revisions: tuple[str, ...]  # cached commit hashes
    path: Path  # the repository's folder inside the cache
    complete: bool  # some revision holds every file the app needs from it


def cache_root(cache_dir: str | Path | None = None) -> Path:
    """`cache_dir`, else `HF_HUB_CACHE` as set now, else the standard Hugging Face cache.

    (huggingface_hub reads `HF_HUB_CACHE` once, at import; reading it per call lets a folder
    chosen later, or set by a test, take effect.)
    """
    return Path(cache_dir or os.environ.get("HF_HUB_CACHE") or constants.HF_HUB_CACHE)


def is_offline() -> bool:
    """True when HF_HUB_OFFLINE (or TRANSFORMERS_OFFLINE) forbids network access."""
    env = os.environ.get("HF_HUB_OFFLINE") or os.environ.get("TRANSFORMERS_OFFLINE") or ""
    return constants.HF_HUB_OFFLINE or env.strip().upper() in {"1", "ON", "YES", "TRUE"}


def is_repo_id(source: str | Path) -> bool:
    """True when `source` reads like "owner/name" and is not an existing local path."""
    text = str(source)
    return bool(_REPO_ID.match(text)) and not Path(text).exists()


def read_assets(folder: str | Path) -> Dia2Assets:
    """The files of the Dia2 checkpoint in `folder`, honouring its dia2_assets.json."""
    folder = Path(folder)
    overrides = _asset_overrides(folder)
    names: dict[str, str | None] = {**DIA2_DEFAULT_FILES, "mimi": None, **overrides}
    paths: dict[str, Path | None] = {}
    for key, name in names.items():
        if name is None:
            paths[key] = None
        elif key == "tokenizer" and "tokenizer" not in overrides:
            # The tokenizer is a set of files (see app.tts.tokenizer); the folder must hold enough.
            if not has_tokenizer(folder):
                raise UserError(
                    f"{folder} lacks tokenizer.json (or vocab.json with merges.txt), the "
                    "checkpoint's tokenizer; copy the tokenizer files there or point at a "
                    "complete Dia2 checkpoint."
                )
            paths[key] = folder
        elif not (folder / name).is_file():
            raise UserError(
                f"{folder} lacks {name} (the checkpoint's {key} file); "
                "copy it there or point at a complete Dia2 checkpoint."
            )
        else:
            paths[key] = folder / name
    return Dia2Assets(folder=folder, **paths)  # type: ignore[arg-type]


def resolve_dia2(
    source: str | Path = DEFAULT_DIA2_REPO,
    *,
    progress: bool = True,
    cache_dir: str | Path | None = None,
    revision: str | None = None,
    endpoint: str | None = None,
) -> Path:
    """The folder holding a Dia2 checkpoint: `source` itself if it is a folder, else the cache
    snapshot of the repository `source` names, downloading the missing files first.

    The folder holds what `read_assets` needs (config.json, model.safetensors, tokenizer.json or
    the files dia2_assets.json names instead).
    """
    if Path(source).is_dir():
        return read_assets(source).folder
    if not is_repo_id(source):
        raise UserError(
            f"{source} is neither a folder nor a Hugging Face repository id "
            f"such as {DEFAULT_DIA2_REPO}."
        )
    repo = str(source)
    kw = dict(cache_dir=cache_dir, revision=revision, endpoint=endpoint, progress=progress)
    # The optional dia2_assets.json decides which files to fetch, so it comes first.
    folder = _fetch(repo, [ASSETS_FILE], optional=[ASSETS_FILE], **kw)
    files = dia2_file_names(folder)
    folder = _fetch(repo, [*files.required, *files.optional], optional=files.optional, **kw)
    present = [n for n in files.optional if (folder / n).is_file()]
    if not files.enough_tokenizer(present):
        where = endpoint or os.environ.get("HF_ENDPOINT") or constants.ENDPOINT
        raise UserError(
            f"{repo} on {where} has no tokenizer (tokenizer.json, or vocab.json with merges.txt); "
            "check the repository name, or pass a local folder that has one."
        )
    return read_assets(folder).folder


def resolve_mimi(
    source: str | Path | None = None,
    *,
    progress: bool = True,
    cache_dir: str | Path | None = None,
    revision: str | None = None,
    endpoint: str | None = None,
) -> Path:
    """The moshi-layout Mimi weights file.

    `source`: None (the default repository, kyutai/moshiko-pytorch-bf16), a .safetensors file, a
    folder holding tokenizer-e351c8d8-checkpoint125.safetensors, a repository id, or
    "owner/name/path/in/repo.safetensors".
    """
    text = MIMI_REPO if source is None else str(source)
    path = Path(text)
    if path.is_file():
        return path
    if path.is_dir():
        if not (path / MIMI_FILE).is_file():
            raise UserError(f"{path} lacks {MIMI_FILE}, the Mimi codec weights; copy it there.")
        return path / MIMI_FILE
    parts = text.split("/")
    repo, filename = "/".join(parts[:2]), "/".join(parts[2:]) or MIMI_FILE
    if not is_repo_id(repo):
        raise UserError(
            f"Mimi weights {text} not found: give a .safetensors file, a folder, or a repository "
            f"id such as {MIMI_REPO}."
        )
    folder = _fetch(
        repo, [filename], cache_dir=cache_dir, revision=revision, endpoint=endpoint,
        progress=progress,
    )
    return folder / filename


def download(
    repo_ids: Iterable[str],
    *,
    progress: bool = True,
    cache_dir: str | Path | None = None,
    endpoint: str | None = None,
) -> dict[str, Path]:
    """Fetch what the app needs from each repository; returns repo id -> local path.

    A Mimi repository gives its Mimi file, a Dia2 repository (a name containing "Dia2") its
    checkpoint folder, any other repository (e.g. a speech-recognition model) its whole snapshot.
    Files already cached are not fetched again.
    """
    kw = dict(progress=progress, cache_dir=cache_dir, endpoint=endpoint)
    out: dict[str, Path] = {}
    for repo in repo_ids:
        if repo == MIMI_REPO or repo.startswith(MIMI_REPO + "/"):
            out[repo] = resolve_mimi(repo, **kw)
        elif "dia2" in repo.lower():
            out[repo] = resolve_dia2(repo, **kw)
        elif is_repo_id(repo):
            out[repo] = _fetch(repo, None, revision=None, **kw)
        else:
            raise UserError(f"{repo} is not a Hugging Face repository id (owner/name).")
    return out


def cached_models(
    repo_ids: Iterable[str] | None = None, *, cache_dir: str | Path | None = None
) -> list[CachedModel]:
    """The cached repositories among `repo_ids` (default: the Dia2 and Mimi ones), by name."""
    wanted = set(repo_ids) if repo_ids is not None else {*DIA2_REPOS, MIMI_REPO}
    try:
        info = scan_cache_dir(cache_root(cache_dir))
    except CacheNotFound:
        return []
    found = []
    for repo in info.repos:
        if repo.repo_type != "model" or repo.repo_id not in wanted:
            continue
        complete = any(_is_complete(repo.repo_id, rev.snapshot_path) for rev in repo.revisions)
        found.append(
            CachedModel(
                repo_id=repo.repo_id,
                size_bytes=int(repo.size_on_disk),
                revisions=tuple(sorted(rev.commit_hash for rev in repo.revisions)),
                path=Path(repo.repo_path),
                complete=complete,
            )
        )
    return sorted(found, key=lambda m: m.repo_id)


def _is_complete(repo_id: str, snapshot: Path) -> bool:
    """Whether one cached snapshot holds everything the app needs from `repo_id`."""
    if repo_id == MIMI_REPO:
        return (snapshot / MIMI_FILE).is_file()
    if "dia2" in repo_id.lower():
        try:
            read_assets(snapshot)
        except UserError:
            return False
    return True


class Dia2Files(NamedTuple):
    """The files (paths inside the repository) of a Dia2 checkpoint."""

    required: list[str]  # config, weights, a tokenizer or Mimi file dia2_assets.json names
    optional: list[str]  # the tokenizer files that may exist (the reference loads them all)
    tokenizer_named: bool  # dia2_assets.json names the tokenizer file (it is then required)

    def enough_tokenizer(self, present: Iterable[str]) -> bool:
        """Whether the optional files among `present` make a tokenizer (or one is named)."""
        names = {Path(n).name for n in self.optional if n in set(present)}
        return self.tokenizer_named or enough_tokenizer_files(names)


def dia2_file_names(folder: str | Path | None) -> Dia2Files:
    """The files of a Dia2 checkpoint, given the folder that holds its dia2_assets.json (None:
    the repository has none).

    Every tokenizer file of `TOKENIZER_FILES` in the tokenizer's folder is optional: the reference
    loads the whole folder, so all that the repository has are fetched, and enough of them must
    have come.
    """
    overrides = _asset_overrides(Path(folder)) if folder is not None else {}
    names = {**DIA2_DEFAULT_FILES, **overrides}
    required = [names["config"], names["weights"]]
    if "tokenizer" in overrides:
        required.append(names["tokenizer"])
    if names.get("mimi"):
        required.append(names["mimi"])  # type: ignore[arg-type]
    where = str(Path(names["tokenizer"]).parent)  # type: ignore[arg-type]
    prefix = "" if where == "." else where + "/"
    optional = [prefix + n for n in TOKENIZER_FILES if prefix + n not in required]
    return Dia2Files(required, optional, "tokenizer" in overrides)


def _asset_overrides(folder: Path) -> dict[str, str | None]:
    """The file names a folder's dia2_assets.json gives (keys config/weights/tokenizer/mimi).

    A "mimi" entry counts only when it names a .safetensors file (moshi layout); other values,
    such as the transformers-layout repository "kyutai/mimi", leave the default codec in place.
    """
    path = folder / ASSETS_FILE
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UserError(f"{path} is not valid JSON ({exc}); fix or remove it.") from exc
    if not isinstance(data, dict):
        raise UserError(f"{path} must hold a JSON object with keys config/weights/tokenizer/mimi.")
    out: dict[str, str | None] = {}
    for key in ("config", "weights", "tokenizer", "mimi"):
        value = data.get(key)
        if value is None:
            continue
        if not isinstance(value, str) or not value or Path(value).is_absolute() or ".." in value:
            raise UserError(f"{path}: {key!r} must name a file inside the checkpoint folder.")
        if key == "mimi" and not value.endswith(".safetensors"):
            continue
        out[key] = value
    return out


@contextmanager
def _progress_bars(show: bool) -> Iterator[None]:
    """Hide huggingface_hub's progress bars for the duration when `show` is False."""
    if show or are_progress_bars_disabled():
        yield
        return
    disable_progress_bars()
    try:
        yield
    finally:
        enable_progress_bars()


def _fetch(
    repo: str,
    files: list[str] | None,
    *,
    cache_dir: str | Path | None,
    revision: str | None,
    endpoint: str | None,
    progress: bool,
    optional: Iterable[str] = (),
) -> Path:
    """Snapshot folder of `repo` holding `files` (None: every file), fetched unless cached.

    Files named in `optional` may be missing from the repository without an error.
    """
    offline = is_offline()
    endpoint = (endpoint or os.environ.get("HF_ENDPOINT") or "").rstrip("/") or None
    where = endpoint or constants.ENDPOINT
    get_it = (
        f"run `uv run main.py download --model {repo}` while online (without HF_HUB_OFFLINE), "
        "or pass a local folder"
    )
    try:
        with _progress_bars(progress):
            folder = Path(
                snapshot_download(
                    repo,
                    allow_patterns=files,
                    revision=revision,
                    cache_dir=str(cache_root(cache_dir)),
                    endpoint=endpoint,
                    local_files_only=offline,
                )
            )
    except _DOWNLOAD_ERRORS as exc:
        raise _download_error(exc, repo, where, revision, offline, get_it) from exc
    _check_fetched(folder, files, set(optional), repo, where, offline, get_it)
    log.info("%s: %s", repo, folder)
    return folder


# What a snapshot download raises that `_download_error` turns into a user's error.
_DOWNLOAD_ERRORS = (
    GatedRepoError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
    LocalEntryNotFoundError,
    HFValidationError,
    requests.RequestException,
    OSError,
)


def _download_error(
    exc: BaseException, repo: str, where: str, revision: str | None, offline: bool, get_it: str
) -> UserError:
    """The one-line error for a failed snapshot download of `repo` from `where` (`exc` is one of
    `_DOWNLOAD_ERRORS`; the first class it is an instance of decides). `get_it` says how to get
    the files."""
    if isinstance(exc, GatedRepoError):
        return UserError(
            f"{repo} on {where} is gated: accept its terms on the website and log in with "
            "`hf auth login`."
        )
    if isinstance(exc, RepositoryNotFoundError):
        return UserError(
            f"there is no model repository {repo} on {where}: check the name "
            f"(e.g. {DEFAULT_DIA2_REPO}) or pass a local folder."
        )
    if isinstance(exc, RevisionNotFoundError):
        return UserError(f"{repo} on {where} has no revision {revision!r}.")
    if isinstance(exc, LocalEntryNotFoundError):
        why = "HF_HUB_OFFLINE=1 is set" if offline else f"{where} cannot be reached"
        return UserError(f"{repo} is not in the model cache and {why}: {get_it}.")
    if isinstance(exc, HFValidationError):
        return UserError(f"{repo} is not a valid repository id ({exc}).")
    return UserError(
        f"downloading {repo} from {where} failed ({download_reason(exc)}); run the same command "
        "again to resume where it stopped."
    )


def _check_fetched(
    folder: Path,
    files: list[str] | None,
    optional: set[str],
    repo: str,
    where: str,
    offline: bool,
    get_it: str,
) -> None:
    """Raise a user's error when a file of `files` not in `optional` is missing from `folder`."""
    for name in files or []:
        if name not in optional and not (folder / name).is_file():
            if offline:
                raise UserError(f"{name} of {repo} is not in the model cache: {get_it}.")
            raise UserError(f"{repo} on {where} has no file {name}; check the repository name.")


def download_reason(exc: BaseException) -> str:
    """A short cause of a failed download: the kind of network failure, or the first line of
    the message (`app.errors.first_line`)."""
    if isinstance(exc, requests.exceptions.ChunkedEncodingError):
        return "the connection broke off"
    if isinstance(exc, requests.Timeout):
        return "the server stopped answering"
    if isinstance(exc, requests.ConnectionError):
        return "no connection"
    return first_line(exc)
