"""Planned downloads against a real hub-layout HTTP server through the real huggingface_hub client:
sizes and what is cached, a full download with progress, a broken connection resumed with a Range
request, a cancel mid-file resumed, an unreachable server, and the speed / size helpers."""

from __future__ import annotations

import os
import threading
import time

import pytest

from app.assets import hub
from app.assets.fetch import (
    DownloadCancelled,
    Downloader,
    RateMeter,
    format_duration,
    format_size,
    plan_download,
)
from app.errors import UserError
from tests.assets.test_hub import dead_endpoint, dia2_files

REPO = "nari-labs/Dia2-1B"
WHISPER = "Systran/faster-whisper-tiny"
CHUNK = 16 * 1024  # the download process's write chunk in these tests


def publish(server, weights: bytes = b"\x01" * 200_000) -> dict[str, dict[str, bytes]]:
    repos = {
        REPO: dia2_files(weights),
        hub.MIMI_REPO: {hub.MIMI_FILE: os.urandom(50_000), "model.safetensors": b"LM" * 9},
        WHISPER: {"model.bin": b"w" * 5000, "config.json": b"{}"},
    }
    for repo, files in repos.items():
        server.add_repo(repo, files)
    return repos


def incomplete(cache_dir):
    return list(cache_dir.rglob("*.incomplete"))


def test_plan_lists_sizes_and_what_is_cached(hub_server, cache_dir):
    repos = publish(hub_server)
    plan = plan_download([REPO, hub.MIMI_REPO, WHISPER], endpoint=hub_server.url,
                         cache_dir=cache_dir)
    got = {(f.repo_id, f.filename): f.size for f in plan.files}
    want = {(REPO, n): len(repos[REPO][n])
            for n in ("config.json", "model.safetensors", "tokenizer.json", "vocab.json")}
    want[hub.MIMI_REPO, hub.MIMI_FILE] = 50_000
    want.update({(WHISPER, n): len(d) for n, d in repos[WHISPER].items()})
    assert got == want
    assert plan.total_bytes == sum(want.values())
    assert plan.cached_bytes == 0 and plan.remaining_bytes == plan.total_bytes
    assert [t.request for t in plan.targets] == [REPO, hub.MIMI_REPO, WHISPER]
    assert plan.cache_dir == cache_dir and not list(cache_dir.rglob("*.safetensors"))

    hub.resolve_mimi(cache_dir=cache_dir, endpoint=hub_server.url, progress=False)
    again = plan_download([REPO, hub.MIMI_REPO], endpoint=hub_server.url, cache_dir=cache_dir)
    cached = {f.filename: f.complete for f in again.files}
    assert cached == {"config.json": False, "model.safetensors": False, "tokenizer.json": False,
                      "vocab.json": False, hub.MIMI_FILE: True}
    assert again.cached_bytes == 50_000
    assert again.remaining_bytes == again.total_bytes - 50_000


def test_plan_follows_dia2_assets_json(hub_server, cache_dir, monkeypatch):
    files = dia2_files()
    files["dia2_assets.json"] = b'{"weights": "w/dia2.safetensors"}'
    files["w/dia2.safetensors"] = b"x" * 1234
    hub_server.add_repo(REPO, files)
    monkeypatch.setenv("HF_ENDPOINT", hub_server.url)  # read at call time
    plan = plan_download([REPO], cache_dir=cache_dir)
    sizes = {f.filename: f.size for f in plan.files}
    assert sizes == {"dia2_assets.json": len(files["dia2_assets.json"]),
                     "config.json": len(files["config.json"]), "w/dia2.safetensors": 1234,
                     "tokenizer.json": len(files["tokenizer.json"]),
                     "vocab.json": len(files["vocab.json"])}
    assert [f.filename for f in plan.files if f.complete] == ["dia2_assets.json"]


def test_full_download_with_progress(hub_server, cache_dir):
    repos = publish(hub_server, os.urandom(300_000))
    plan = plan_download([REPO, hub.MIMI_REPO, WHISPER], endpoint=hub_server.url,
                         cache_dir=cache_dir)
    seen: list[tuple[int, int]] = []
    paths = Downloader(plan, on_progress=lambda d, t: seen.append((d, t)),
                       chunk_bytes=CHUNK).run()
    assert seen[-1] == (plan.total_bytes, plan.total_bytes)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)
    assert paths[hub.MIMI_REPO].read_bytes() == repos[hub.MIMI_REPO][hub.MIMI_FILE]
    assets = hub.read_assets(paths[REPO])
    assert assets.weights.read_bytes() == repos[REPO]["model.safetensors"]
    assert (paths[WHISPER] / "model.bin").read_bytes() == repos[WHISPER]["model.bin"]
    assert not incomplete(cache_dir)
    # The app finds everything later without the server.
    hub_server.stop()
    assert hub.download([REPO, hub.MIMI_REPO], cache_dir=cache_dir, endpoint=dead_endpoint(),
                        progress=False) == {REPO: paths[REPO], hub.MIMI_REPO: paths[hub.MIMI_REPO]}
    assert plan.done_bytes() == plan.total_bytes


def test_broken_connection_resumes_with_a_range_request(hub_server, cache_dir):
    weights = os.urandom(300_000)
    hub_server.add_repo(REPO, dia2_files(weights))
    hub_server.cut_after("model.safetensors", 100_000)
    plan = plan_download([REPO], endpoint=hub_server.url, cache_dir=cache_dir)
    with pytest.raises(UserError, match="connection broke off.*try again to resume"):
        Downloader(plan, chunk_bytes=CHUNK).run()
    [partial] = incomplete(cache_dir)
    kept = partial.stat().st_size
    assert 0 < kept <= 100_000
    replanned = plan_download([REPO], endpoint=hub_server.url, cache_dir=cache_dir)
    # config.json came before the cut, tokenizer.json was not reached
    assert [f.filename for f in replanned.files if f.complete] == ["config.json"]
    assert replanned.cached_bytes == kept + len(dia2_files()["config.json"])

    hub_server.clear_cuts()
    hub_server.requests.clear()
    paths = Downloader(replanned, chunk_bytes=CHUNK).run()
    assert (paths[REPO] / "model.safetensors").read_bytes() == weights
    ranges = [r.range for r in hub_server.requests
              if r.method == "GET" and r.path.endswith("model.safetensors")]
    assert ranges == [f"bytes={kept}-"]
    assert not incomplete(cache_dir)


def test_cancel_mid_file_then_resume(hub_server, cache_dir):
    weights = os.urandom(300_000)
    hub_server.add_repo(REPO, dia2_files(weights))
    hub_server.hold_after("model.safetensors", 4 * CHUNK)
    plan = plan_download([REPO], endpoint=hub_server.url, cache_dir=cache_dir)
    seen: list[int] = []
    downloader = Downloader(plan, on_progress=lambda d, t: seen.append(d), chunk_bytes=CHUNK)
    outcome: list[BaseException] = []

    def run() -> None:
        try:
            downloader.run()
        except BaseException as exc:  # noqa: BLE001 - the test looks at it
            outcome.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    assert hub_server.holding.wait(60)
    deadline = time.monotonic() + 60
    while not (incomplete(cache_dir) and incomplete(cache_dir)[0].stat().st_size == 4 * CHUNK):
        assert time.monotonic() < deadline
        time.sleep(0.02)
    downloader.cancel.set()
    thread.join(60)
    assert not thread.is_alive() and isinstance(outcome[0], DownloadCancelled)
    assert [p.stat().st_size for p in incomplete(cache_dir)] == [4 * CHUNK]
    assert plan.total_bytes > seen[-1] >= 4 * CHUNK

    hub_server.release()
    hub_server.requests.clear()
    paths = Downloader(plan, chunk_bytes=CHUNK).run()
    assert (paths[REPO] / "model.safetensors").read_bytes() == weights
    gets = {r.path.rsplit("/", 1)[-1]: r.range for r in hub_server.requests if r.method == "GET"}
    assert gets == {"model.safetensors": f"bytes={4 * CHUNK}-", "tokenizer.json": None,
                    "vocab.json": None}


def test_unreachable_server(cache_dir):
    with pytest.raises(UserError, match=r"cannot reach http://127\.0\.0\.1.*--demo"):
        plan_download([REPO], endpoint=dead_endpoint(), cache_dir=cache_dir)


def test_offline_refuses_to_plan(cache_dir, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(UserError, match="HF_HUB_OFFLINE=1.*--demo"):
        plan_download([REPO], endpoint=dead_endpoint(), cache_dir=cache_dir)


def test_missing_repository(hub_server, cache_dir):
    with pytest.raises(UserError, match="no model repository nari-labs/Dia2-9B"):
        plan_download(["nari-labs/Dia2-9B"], endpoint=hub_server.url, cache_dir=cache_dir)


def test_rate_meter_and_formats():
    now = [0.0]
    meter = RateMeter(window_s=5, clock=lambda: now[0])
    assert meter.add(0, 1000) == (-1.0, -1.0)
    now[0] = 1.0
    assert meter.add(100, 1000) == (100.0, 9.0)
    now[0] = 2.0
    assert meter.add(100, 1000) == (50.0, 18.0)
    now[0] = 10.0
    assert meter.add(100, 1000) == (0.0, -1.0)  # nothing for longer than the window
    assert [format_size(n) for n in (0, 999, 1500, 52_300_000, 4_210_000_000)] == [
        "0 B", "999 B", "1.50 kB", "52.3 MB", "4.21 GB"]
    assert [format_duration(s) for s in (-1, 12.4, 245, 7380)] == [
        "", "12 s", "4 min 05 s", "2 h 03 min"]


def test_repository_lacking_a_file(hub_server, cache_dir):
    files = dia2_files()
    del files["tokenizer.json"]  # vocab.json without merges.txt is no tokenizer either
    hub_server.add_repo(REPO, files)
    with pytest.raises(UserError, match="has no tokenizer"):
        plan_download([REPO], endpoint=hub_server.url, cache_dir=cache_dir)
    files["tokenizer.json"] = b"{}"
    del files["model.safetensors"]
    hub_server.add_repo(REPO, files)
    with pytest.raises(UserError, match="has no file model.safetensors"):
        plan_download([REPO], endpoint=hub_server.url, cache_dir=cache_dir)
