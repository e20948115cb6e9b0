"""A model download planned up front and run with progress, cancellation and resume (no Qt).

`plan_download` asks the hub (the `HF_ENDPOINT` or `endpoint` server, read at call time) which
files the app needs from each repository, how big they are and how much of each is already in the
Hugging Face cache. `Downloader` then fetches them with `huggingface_hub.hf_hub_download` into that
cache, exactly as `app.assets.hub` would, so later runs find them offline.

The files are fetched by a child process that does nothing else: cancelling ends that process at
once, even in the middle of a file, and keeps what it wrote (`blobs/<etag>.incomplete`), which the
next `hf_hub_download` of the file continues with an HTTP Range request. Progress comes from the
sizes of the cache's blob files, so it is as fine as huggingface_hub's write chunks (`chunk_bytes`).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from pathlib import Path

import requests
from huggingface_hub import HfApi, constants, get_hf_file_metadata, hf_hub_download, hf_hub_url
from huggingface_hub.errors import (
    EntryNotFoundError,
    GatedRepoError,
    HfHubHTTPError,
    HFValidationError,
    LocalEntryNotFoundError,
    OfflineModeIsEnabled,
    RepositoryNotFoundError,
)
from huggingface_hub.file_download import repo_folder_name

from app.assets import hub
from app.errors import UserError

log = logging.getLogger(__name__)

CHUNK_BYTES = 64 * 1024  # bytes huggingface_hub writes at a time in the download process
DEMO_HINT = "or start the app with --demo to try it without downloading anything"


class DownloadCancelled(Exception):
    """The download stopped because its cancel event was set; partial files stay for a resume."""


@dataclass(frozen=True)
class PlannedFile:
    """One file of a download plan."""

    repo_id: str  # the repository, e.g. "nari-labs/Dia2-2B"
    filename: str  # its path inside the repository
    size: int  # bytes, from the hub's metadata
    blob: Path  # where the cache keeps the finished file (blobs/<etag>)
    cached_bytes: int  # bytes on disk when planned: `size` if finished, else a partial download's

    @property
    def complete(self) -> bool:
        """The file was already in the cache when the plan was made."""
        return self.cached_bytes >= self.size

    def bytes_on_disk(self) -> int:
        """Bytes of this file in the cache now: all of it, a partial download's, or 0."""
        for path in (self.blob, self.blob.with_name(self.blob.name + ".incomplete")):
            try:
                return min(path.stat().st_size, self.size)
            except OSError:
                continue
        return 0


@dataclass(frozen=True)
class Target:
    """What one requested name gives back once downloaded."""

    request: str  # the name asked for: "owner/name" or "owner/name/path/in/repo"
    repo_id: str  # the repository it lives in
    filename: str | None  # the file returned; None: the repository's snapshot folder


@dataclass(frozen=True)
class DownloadPlan:
    """Everything a download will fetch, with sizes, and what is already there."""

    files: tuple[PlannedFile, ...]  # every file needed, cached or not
    targets: tuple[Target, ...]  # one per requested name, in the order asked
    cache_dir: Path  # the Hugging Face cache the files go to
    endpoint: str | None  # the hub server; None: huggingface.co

    @property
    def total_bytes(self) -> int:
        """Size of all the files."""
        return sum(f.size for f in self.files)

    @property
    def cached_bytes(self) -> int:
        """Bytes already in the cache when planned (finished files and partial downloads)."""
        return sum(min(f.cached_bytes, f.size) for f in self.files)

    @property
    def remaining_bytes(self) -> int:
        """Bytes still to fetch, as planned."""
        return self.total_bytes - self.cached_bytes

    @property
    def where(self) -> str:
        """The server, for messages."""
        return self.endpoint or constants.ENDPOINT

    def done_bytes(self) -> int:
        """Bytes of the plan's files in the cache now."""
        return sum(f.bytes_on_disk() for f in self.files)


def resolve_endpoint(endpoint: str | None = None) -> str | None:
    """`endpoint`, else HF_ENDPOINT as set now, without a trailing slash; None: huggingface.co."""
    return (endpoint or os.environ.get("HF_ENDPOINT") or "").rstrip("/") or None


def plan_download(
    repo_ids: Iterable[str],
    endpoint: str | None = None,
    cache_dir: str | Path | None = None,
) -> DownloadPlan:
    """Ask the hub which files `repo_ids` need and how big they are; nothing big is fetched.

    Names are read as `hub.download` reads them: the Mimi repository (or "owner/name/file") gives
    one file, a Dia2 repository its checkpoint files (a dia2_assets.json it holds is fetched now,
    as it names the others), any other repository all its files.
    """
    endpoint = resolve_endpoint(endpoint)
    cache = hub.cache_root(cache_dir)
    where = endpoint or constants.ENDPOINT
    if hub.is_offline():
        raise UserError(
            "HF_HUB_OFFLINE=1 is set, so no model can be downloaded: unset it and connect to the "
            f"internet, {DEMO_HINT}."
        )
    files: dict[tuple[str, str], PlannedFile] = {}
    targets = []
    for request in repo_ids:
        repo, filename = _split(request)
        try:
            # One GET that huggingface_hub does not retry: an unreachable server fails at once.
            info = HfApi(endpoint=endpoint).model_info(repo)
            present = {s.rfilename for s in info.siblings or []}
            if filename is not None:
                names = [filename]
            elif "dia2" in repo.lower():
                names = _dia2_names(repo, present, cache, endpoint)
            else:
                names = sorted(present)
            for name in names:
                if name not in present:
                    raise UserError(f"{repo} on {where} has no file {name}; check the name.")
                if (repo, name) not in files:
                    files[repo, name] = _plan_file(repo, name, cache, endpoint)
        except Exception as exc:  # noqa: BLE001 - every failure becomes one actionable message
            raise UserError(explain(exc, repo, where)) from exc
        targets.append(Target(request, repo, filename))
    plan = DownloadPlan(tuple(files.values()), tuple(targets), cache, endpoint)
    log.info("plan: %d files, %d bytes, %d cached", len(plan.files), plan.total_bytes,
             plan.cached_bytes)
    return plan


def _split(request: str) -> tuple[str, str | None]:
    """(repository, single file or None) for a requested name."""
    parts = request.split("/")
    repo = "/".join(parts[:2])
    if not hub.is_repo_id(repo):
        raise UserError(f"{request} is not a Hugging Face repository id (owner/name).")
    if repo == hub.MIMI_REPO:
        return repo, "/".join(parts[2:]) or hub.MIMI_FILE
    return repo, "/".join(parts[2:]) or None


def _dia2_names(repo: str, present: set[str], cache: Path, endpoint: str | None) -> list[str]:
    """The files a Dia2 repository's checkpoint needs (its small dia2_assets.json fetched now),
    with the optional tokenizer files it has."""
    folder = None
    if hub.ASSETS_FILE in present:
        folder = Path(hf_hub_download(repo, hub.ASSETS_FILE, cache_dir=cache,
                                      endpoint=endpoint)).parent
    files = hub.dia2_file_names(folder)
    names = [*files.required, *(n for n in files.optional if n in present)]
    if not files.enough_tokenizer(present):
        raise UserError(f"{repo} has no tokenizer (tokenizer.json, or vocab.json with "
                        "merges.txt); check the repository name.")
    return [hub.ASSETS_FILE, *names] if folder else names


def _plan_file(repo: str, filename: str, cache: Path, endpoint: str | None) -> PlannedFile:
    """One file's size and blob location, from a HEAD request like the one hf_hub_download sends."""
    meta = get_hf_file_metadata(hf_hub_url(repo, filename, endpoint=endpoint), endpoint=endpoint)
    if meta.etag is None or meta.size is None:
        raise UserError(f"{filename} of {repo}: the server sent no size or ETag for it.")
    blob = cache / repo_folder_name(repo_id=repo, repo_type="model") / "blobs" / meta.etag
    planned = PlannedFile(repo, filename, meta.size, blob, 0)
    return PlannedFile(repo, filename, meta.size, blob, planned.bytes_on_disk())


def explain(exc: BaseException, repo: str, where: str) -> str:
    """An actionable message for a failure while planning or downloading `repo` from `where`."""
    if isinstance(exc, UserError):
        return str(exc)
    if isinstance(exc, GatedRepoError):
        return (f"{repo} on {where} is gated: accept its terms on the website and log in with "
                "`hf auth login`, then try again.")
    if isinstance(exc, RepositoryNotFoundError):
        return f"there is no model repository {repo} on {where}: check the name."
    if isinstance(exc, EntryNotFoundError):
        return f"{repo} on {where} lacks a file the app needs ({hub.download_reason(exc)})."
    if isinstance(exc, HFValidationError):
        return f"{repo} is not a valid repository id ({hub.download_reason(exc)})."
    if isinstance(exc, (OfflineModeIsEnabled, LocalEntryNotFoundError)):
        return f"cannot reach {where}: connect to the internet and try again, {DEMO_HINT}."
    if isinstance(exc, (requests.ConnectionError, requests.Timeout)):
        return (f"cannot reach {where} ({hub.download_reason(exc)}): check the internet "
                f"connection and try again, {DEMO_HINT}.")
    if isinstance(exc, (requests.RequestException, HfHubHTTPError, OSError)):
        return (f"downloading {repo} from {where} failed ({hub.download_reason(exc)}); try again "
                "to resume where it stopped.")
    return f"downloading {repo} from {where} failed unexpectedly ({type(exc).__name__}: {exc})."


class Downloader:
    """Fetches a plan's files; `run()` blocks until done, cancelled or failed.

    `on_progress(done_bytes, total_bytes)` is called from the thread running `run()` every
    `poll_s` seconds while bytes arrive (and once at the start and end); it must be safe to call
    from that thread (emitting a Qt signal is). Setting `cancel` stops the download within about
    `poll_s`, keeping partial files so that the next run resumes them.
    """

    def __init__(
        self,
        plan: DownloadPlan,
        *,
        on_progress: Callable[[int, int], None] | None = None,
        cancel: threading.Event | None = None,
        chunk_bytes: int = CHUNK_BYTES,
        poll_s: float = 0.1,
    ) -> None:
        self.plan = plan
        self._on_progress = on_progress
        self.cancel = cancel or threading.Event()
        self._chunk_bytes = chunk_bytes
        self._poll_s = poll_s

    def run(self) -> dict[str, Path]:
        """Download what is missing; returns requested name -> local path (the file for a single
        file, else the snapshot folder). Raises DownloadCancelled, or UserError on failure."""
        plan = self.plan
        jobs = [(f.repo_id, f.filename) for f in plan.files]
        paths = self._in_child(jobs) if jobs else []
        by_file = {job: Path(p) for job, p in zip(jobs, paths, strict=True)}
        out: dict[str, Path] = {}
        for t in plan.targets:
            if t.filename is not None:
                out[t.request] = by_file[t.repo_id, t.filename]
                continue
            mine = [(name, p) for (repo, name), p in by_file.items() if repo == t.repo_id]
            name, path = mine[0]
            out[t.request] = path.parents[len(Path(name).parts) - 1]
        return out

    def _report(self, last: list[int]) -> None:
        done = self.plan.done_bytes()
        if self._on_progress is not None and done != last[0]:
            last[0] = done
            self._on_progress(done, self.plan.total_bytes)

    def _in_child(self, jobs: list[tuple[str, str]]) -> list[str]:
        """Run `jobs` in the download process; their local paths, in order."""
        if self.cancel.is_set():
            raise DownloadCancelled()
        ctx = multiprocessing.get_context("spawn")
        receive, send = ctx.Pipe(duplex=False)
        proc = ctx.Process(
            target=_child_main,
            args=(send, jobs, str(self.plan.cache_dir), self.plan.endpoint, self._chunk_bytes),
            name="model-download",
            daemon=True,
        )
        proc.start()
        send.close()
        paths: list[str] = []
        last = [-1]
        try:
            while True:
                self._report(last)
                if self.cancel.is_set():
                    log.info("download cancelled")
                    raise DownloadCancelled()
                ready = wait([receive, proc.sentinel], timeout=self._poll_s)
                if receive in ready:
                    try:
                        message = receive.recv()
                    except EOFError:
                        message = ("error", "the download process stopped unexpectedly; "
                                   "try again to resume where it stopped.")
                    if message[0] == "file":
                        paths.append(message[1])
                    elif message[0] == "error":
                        raise UserError(message[1])
                    else:
                        break
                elif ready:  # the process ended without a word
                    raise UserError(
                        f"the download process stopped unexpectedly (exit code {proc.exitcode}); "
                        "try again to resume where it stopped."
                    )
            self._report(last)
            return paths
        finally:
            _stop(proc)
            receive.close()


def _stop(proc: multiprocessing.process.BaseProcess) -> None:
    """End the download process (at once, if it still runs) and reap it."""
    if proc.is_alive():
        proc.terminate()
        proc.join(5)
        if proc.is_alive():
            proc.kill()
    proc.join()


def _child_main(
    conn: Connection, jobs: list[tuple[str, str]], cache_dir: str, endpoint: str | None,
    chunk_bytes: int,
) -> None:
    """The download process: fetch each (repo, file) with hf_hub_download and report its path."""
    from huggingface_hub.utils import disable_progress_bars

    # This process only downloads, so its huggingface_hub may be tuned freely: smaller write chunks
    # give finer progress and lose less on a cancel.
    constants.DOWNLOAD_CHUNK_SIZE = chunk_bytes
    disable_progress_bars()
    repo = jobs[0][0] if jobs else ""
    try:
        for repo, filename in jobs:
            path = hf_hub_download(repo, filename, cache_dir=cache_dir, endpoint=endpoint)
            conn.send(("file", path))
        conn.send(("done",))
    except Exception as exc:  # noqa: BLE001 - reported to the parent as one message
        conn.send(("error", explain(exc, repo, endpoint or constants.ENDPOINT)))
    finally:
        conn.close()


class RateMeter:
    """Download speed over the last few seconds, and the time left at that speed."""

    def __init__(self, window_s: float = 5.0, clock: Callable[[], float] = time.monotonic):
        self._window_s = window_s
        self._clock = clock
        self._samples: deque[tuple[float, int]] = deque()

    def add(self, done: int, total: int) -> tuple[float, float]:
        """Record `done` bytes now; returns (bytes per second, seconds left), each -1 while
        unknown."""
        now = self._clock()
        self._samples.append((now, done))
        while len(self._samples) > 2 and now - self._samples[1][0] >= self._window_s:
            self._samples.popleft()
        t0, d0 = self._samples[0]
        if now <= t0:
            return -1.0, -1.0
        rate = max(done - d0, 0) / (now - t0)
        if rate <= 0:
            return 0.0, -1.0
        return rate, max(total - done, 0) / rate


def format_size(n: int | float) -> str:
    """Bytes for people, in decimal units as the hub shows them: 512 B, 1.5 MB, 4.21 GB."""
    n = float(n)
    if n < 1000:
        return f"{int(n)} B"
    for unit in ("kB", "MB", "GB", "TB"):
        n /= 1000
        if n < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if n >= 100 else f"{n:.1f} {unit}" if n >= 10 else (
                f"{n:.2f} {unit}")
    raise AssertionError("unreachable")


def format_duration(seconds: float) -> str:
    """Time left for people: "12 s", "4 min 05 s", "2 h 03 min"; "" while unknown."""
    if seconds < 0:
        return ""
    s = int(round(seconds))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s // 3600} h {s % 3600 // 60:02d} min"
