"""A real HTTP server on 127.0.0.1 that serves model repositories in the Hugging Face hub layout.

Enough of the hub for the real `huggingface_hub` client (`hf_hub_download`, `snapshot_download`)
pointed at it through `HF_ENDPOINT` or `endpoint=`:

- `GET /api/models/{owner}/{name}[/revision/{rev}]`: the model info (`id`, `sha`, `siblings`).
- `HEAD`/`GET /{owner}/{name}/resolve/{rev}/{path}`: the file, with `ETag` (its sha256),
  `X-Repo-Commit`, `Content-Length` and `Accept-Ranges`; `Range: bytes=a-[b]` gives 206 and
  `Content-Range`, which is what a resumed download sends.
- Unknown repositories, revisions and files get 404 with the `X-Error-Code` the hub uses
  (`RepoNotFound`, `RevisionNotFound`, `EntryNotFound`).

A file's content is given as bytes, or as the `Path` of a file on disk, which is then streamed
from disk in pieces (for multi-gigabyte checkpoints that should not sit in memory).

`cut_after(path, n)` makes every GET of that file stop after `n` bytes of its body and drop the
connection, as a network failure would, until `clear_cuts()`. `hold_after(path, n)` makes every GET
of that file send `n` bytes of its body and then wait, connection open, until `release()` (so a test
can act mid-file); `holding` is set once a transfer waits. `requests` logs what was asked.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

log = logging.getLogger(__name__)

_INFO = re.compile(r"^/api/models/([^/]+/[^/]+?)(?:/revision/([^/]+))?/?$")
_RESOLVE = re.compile(r"^/([^/]+/[^/]+)/resolve/([^/]+)/(.+)$")
_RANGE = re.compile(r"^bytes=(\d+)-(\d*)$")
_PIECE = 2**20  # bytes read from disk and sent at a time


@dataclass(frozen=True)
class Logged:
    """One request the server received."""

    method: str  # "GET" or "HEAD"
    path: str  # URL path, unquoted, without the query
    range: str | None  # the Range header, if any


@dataclass(frozen=True)
class _Repo:
    sha: str  # commit hash (40 hex digits)
    files: dict[str, bytes | Path]  # path in repo -> content, or the file on disk holding it
    digests: dict[str, str]  # path in repo -> sha256 of the content (hex), the ETag


class HubServer:
    """Serves repositories added with `add_repo` until `stop()` (or the end of a `with`)."""

    def __init__(self) -> None:
        self._repos: dict[str, _Repo] = {}
        self._cuts: dict[str, int] = {}
        self._holds: dict[str, int] = {}
        self._released = threading.Event()
        self.holding = threading.Event()
        self._lock = threading.Lock()
        self.requests: list[Logged] = []
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(self))
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The endpoint, e.g. http://127.0.0.1:40123."""
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def add_repo(self, repo_id: str, files: dict[str, bytes | Path]) -> str:
        """Publish (or replace) a repository; returns its commit hash. A `Path` value is served
        from that file (read when asked for; it must stay there and unchanged meanwhile)."""
        digest = hashlib.sha1(repo_id.encode())
        digests = {name: _sha256(content) for name, content in files.items()}
        for name in sorted(files):
            digest.update(name.encode() + b"\0" + bytes.fromhex(digests[name]))
        sha = digest.hexdigest()
        with self._lock:
            self._repos[repo_id] = _Repo(sha=sha, files=dict(files), digests=digests)
        return sha

    def cut_after(self, path: str, nbytes: int) -> None:
        """Make every GET of the file `path` (in any repository) break off after `nbytes`."""
        with self._lock:
            self._cuts[path] = nbytes

    def clear_cuts(self) -> None:
        """Serve every file whole again."""
        with self._lock:
            self._cuts.clear()

    def hold_after(self, path: str, nbytes: int) -> None:
        """Make every GET of the file `path` pause after `nbytes` of it until `release()`."""
        with self._lock:
            self._holds[path] = nbytes
        self._released.clear()
        self.holding.clear()

    def release(self) -> None:
        """Let held transfers go on, and serve every file without pausing again."""
        with self._lock:
            self._holds.clear()
        self._released.set()

    def start(self) -> HubServer:
        """Start serving on a background thread."""
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and free the port."""
        self.release()
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join()
            self._thread = None
        self._httpd.server_close()

    def __enter__(self) -> HubServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _lookup(self, repo_id: str, rev: str) -> tuple[_Repo | None, str | None]:
        """The repository at `rev` (a branch name or its commit hash), or the hub error code."""
        with self._lock:
            repo = self._repos.get(repo_id)
        if repo is None:
            return None, "RepoNotFound"
        if rev not in ("main", repo.sha):
            return None, "RevisionNotFound"
        return repo, None


def _sha256(content: bytes | Path) -> str:
    if isinstance(content, bytes):
        return hashlib.sha256(content).hexdigest()
    h = hashlib.sha256()
    with open(content, "rb") as f:
        while piece := f.read(16 * _PIECE):
            h.update(piece)
    return h.hexdigest()


def _size(content: bytes | Path) -> int:
    return len(content) if isinstance(content, bytes) else content.stat().st_size


def _make_handler(server: HubServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            log.debug("hub server: " + format, *args)

        def do_GET(self) -> None:
            self._serve(body=True)

        def do_HEAD(self) -> None:
            self._serve(body=False)

        def _serve(self, *, body: bool) -> None:
            path = unquote(urlsplit(self.path).path)
            server.requests.append(Logged(self.command, path, self.headers.get("Range")))
            if m := _INFO.match(path):
                self._info(m.group(1), m.group(2) or "main", body)
            elif m := _RESOLVE.match(path):
                self._file(m.group(1), m.group(2), m.group(3), body)
            else:
                self._error(404, "RepoNotFound", body)

        def _info(self, repo_id: str, rev: str, body: bool) -> None:
            repo, err = server._lookup(repo_id, rev)
            if repo is None:
                self._error(404, err, body)
                return
            info = {
                "id": repo_id,
                "modelId": repo_id,
                "sha": repo.sha,
                "private": False,
                "siblings": [{"rfilename": name} for name in sorted(repo.files)],
            }
            data = json.dumps(info).encode()
            self._head(200, {"Content-Type": "application/json", "Content-Length": len(data)})
            if body:
                self.wfile.write(data)

        def _file(self, repo_id: str, rev: str, name: str, body: bool) -> None:
            repo, err = server._lookup(repo_id, rev)
            if repo is None or name not in repo.files:
                self._error(404, err or "EntryNotFound", body)
                return
            content = repo.files[name]
            size = _size(content)
            headers = {
                "ETag": f'"{repo.digests[name]}"',
                "X-Repo-Commit": repo.sha,
                "Accept-Ranges": "bytes",
                "Content-Type": "application/octet-stream",
            }
            start, end, status = 0, size - 1, 200
            if body and (rng := self.headers.get("Range")):
                m = _RANGE.match(rng.strip())
                if m is None or int(m.group(1)) >= size:
                    headers["Content-Range"] = f"bytes */{size}"
                    self._error(416, None, body, headers)
                    return
                start = int(m.group(1))
                end = min(int(m.group(2)), size - 1) if m.group(2) else size - 1
                status = 206
                headers["Content-Range"] = f"bytes {start}-{end}/{size}"
            stop = end + 1
            headers["Content-Length"] = stop - start
            self._head(status, headers)
            if not body:
                return
            with server._lock:
                cut = server._cuts.get(name)
                hold = server._holds.get(name)
            if hold is not None and start < hold < stop:
                try:
                    self._send(content, start, hold)
                    self.wfile.flush()
                    server.holding.set()
                    server._released.wait(60)
                    self._send(content, hold, stop)
                except OSError:  # the client went away while held
                    self.close_connection = True
                return
            if cut is not None and stop > cut:
                self._send(content, start, max(cut, start))
                self.wfile.flush()
                self.close_connection = True
                return
            self._send(content, start, stop)

        def _send(self, content: bytes | Path, start: int, stop: int) -> None:
            """Write bytes [start, stop) of the content."""
            if isinstance(content, bytes):
                self.wfile.write(memoryview(content)[start:stop])
                return
            with open(content, "rb") as f:
                f.seek(start)
                while start < stop:
                    piece = f.read(min(_PIECE, stop - start))
                    if not piece:
                        raise OSError(f"{content} ended early")
                    self.wfile.write(piece)
                    start += len(piece)

        def _error(
            self, status: int, code: str | None, body: bool, extra: dict | None = None
        ) -> None:
            data = json.dumps({"error": code or "error"}).encode()
            headers = {"Content-Type": "application/json", "Content-Length": len(data)}
            if code:
                headers["X-Error-Code"] = code
            headers.update(extra or {})
            self._head(status, headers)
            if body:
                self.wfile.write(data)

        def _head(self, status: int, headers: dict) -> None:
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, str(value))
            self.end_headers()

    return Handler
