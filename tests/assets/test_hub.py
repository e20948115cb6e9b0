"""Asset resolution against a real HTTP server in the hub layout, through the real huggingface_hub
client: fresh download, offline runs from the cache, missing repositories and files, an
interrupted download that resumes, local folders and dia2_assets.json."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from moshi.models import loaders

from app.assets import hub
from app.assets.demo_mimi import save_demo_mimi
from app.codec.mimi import MimiCodec
from app.errors import UserError
from app.tts.engine import Dia2Engine
from app.tts.tokenizer import TOKENIZER_FILES
from tests.assets.hf_server import HubServer
from tests.conftest import PARITY_FIXTURES
from tests.tts.helpers import load_cases

ROOT = Path(__file__).resolve().parents[2]
REPO = "nari-labs/Dia2-1B"


def dia2_files(weights: bytes = b"\x01" * 200_000) -> dict[str, bytes]:
    return {
        "config.json": json.dumps({"data": {}, "model": {}, "runtime": {}}).encode(),
        "model.safetensors": weights,
        "tokenizer.json": b'{"model": "bpe"}',
        "vocab.json": b"{}",  # a tokenizer file: fetched with the others
        "README.md": b"# Dia2",
    }


def fetched(server) -> set[str]:
    """Files the server sent bodies for."""
    return {r.path.rsplit("/", 1)[-1] for r in server.requests
            if r.method == "GET" and "/resolve/" in r.path}


def dead_endpoint() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"  # nothing listens here any more


def test_moshi_constants_match():
    assert hub.MIMI_REPO == loaders.DEFAULT_REPO
    assert hub.MIMI_FILE == loaders.MIMI_NAME


def test_fresh_download(hub_server, cache_dir):
    files = dia2_files()
    sha = hub_server.add_repo(REPO, files)
    folder = hub.resolve_dia2(REPO, cache_dir=cache_dir, endpoint=hub_server.url, progress=False)
    assert folder.name == sha and cache_dir in folder.parents
    for name in ("config.json", "model.safetensors", "tokenizer.json"):
        assert (folder / name).read_bytes() == files[name]
    assert fetched(hub_server) == {"config.json", "model.safetensors", "tokenizer.json",
                                   "vocab.json"}  # not README.md
    assets = hub.read_assets(folder)
    assert assets.weights == folder / "model.safetensors" and assets.mimi is None


def test_hf_endpoint_is_read_at_call_time(hub_server, cache_dir, monkeypatch):
    hub_server.add_repo(REPO, dia2_files())
    monkeypatch.setenv("HF_ENDPOINT", hub_server.url)
    folder = hub.resolve_dia2(REPO, cache_dir=cache_dir, progress=False)
    assert (folder / "tokenizer.json").is_file()
    assert fetched(hub_server)


def test_progress_bars(hub_server, cache_dir, capfd):
    hub_server.add_repo(REPO, dia2_files())
    hub.resolve_dia2(REPO, cache_dir=cache_dir, endpoint=hub_server.url, progress=False)
    assert "100%" not in capfd.readouterr().err
    hub_server.add_repo("nari-labs/Dia2-2B", dia2_files())
    hub.resolve_dia2("nari-labs/Dia2-2B", cache_dir=cache_dir, endpoint=hub_server.url)
    assert "100%" in capfd.readouterr().err


def test_offline_uses_the_cache_without_a_server(cache_dir, monkeypatch):
    with HubServer() as server:
        server.add_repo(REPO, dia2_files())
        with_server_folder = hub.resolve_dia2(REPO, cache_dir=cache_dir, endpoint=server.url,
                                              progress=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_ENDPOINT", dead_endpoint())
    assert hub.resolve_dia2(REPO, cache_dir=cache_dir, progress=False) == with_server_folder
    with pytest.raises(UserError, match=r"HF_HUB_OFFLINE=1.*uv run main.py download"):
        hub.resolve_dia2("nari-labs/Dia2-2B", cache_dir=cache_dir, progress=False)


def test_cached_and_unreachable_server_falls_back_to_cache(hub_server, cache_dir):
    hub_server.add_repo(REPO, dia2_files())
    folder = hub.resolve_dia2(REPO, cache_dir=cache_dir, endpoint=hub_server.url, progress=False)
    dead = dead_endpoint()
    assert hub.resolve_dia2(REPO, cache_dir=cache_dir, endpoint=dead, progress=False) == folder
    with pytest.raises(UserError, match="cannot be reached.*uv run main.py download"):
        hub.resolve_dia2("nari-labs/Dia2-2B", cache_dir=cache_dir, endpoint=dead, progress=False)


def test_missing_repo(hub_server, cache_dir):
    with pytest.raises(UserError, match="no model repository nari-labs/Dia2-9B"):
        hub.resolve_dia2("nari-labs/Dia2-9B", cache_dir=cache_dir, endpoint=hub_server.url,
                         progress=False)


def test_repo_lacking_a_file(hub_server, cache_dir):
    files = dia2_files()
    del files["tokenizer.json"]
    hub_server.add_repo(REPO, files)
    with pytest.raises(UserError, match="has no tokenizer"):
        hub.resolve_dia2(REPO, cache_dir=cache_dir, endpoint=hub_server.url, progress=False)


def test_interrupted_download_resumes(hub_server, cache_dir):
    # huggingface_hub writes 10 MiB chunks, so the file must be bigger for a partial one to stay.
    weights = os.urandom(25_000_000)
    hub_server.add_repo(REPO, dia2_files(weights))
    hub_server.cut_after("model.safetensors", 15_000_000)
    with pytest.raises(UserError, match="run the same command again to resume"):
        hub.resolve_dia2(REPO, cache_dir=cache_dir, endpoint=hub_server.url, progress=False)
    partial = list(cache_dir.rglob("*.incomplete"))
    assert len(partial) == 1 and partial[0].stat().st_size == 10 * 1024 * 1024
    assert not [m for m in hub.cached_models(cache_dir=cache_dir) if m.complete]

    hub_server.clear_cuts()
    hub_server.requests.clear()
    folder = hub.resolve_dia2(REPO, cache_dir=cache_dir, endpoint=hub_server.url, progress=False)
    assert (folder / "model.safetensors").read_bytes() == weights
    ranges = [r.range for r in hub_server.requests
              if r.method == "GET" and r.path.endswith("model.safetensors")]
    assert ranges == [f"bytes={10 * 1024 * 1024}-"]
    assert not list(cache_dir.rglob("*.incomplete"))


def test_dia2_assets_json_in_a_repo(hub_server, cache_dir):
    files = dia2_files()
    files["dia2_assets.json"] = json.dumps(
        {"weights": "weights/dia2.safetensors", "mimi": "codec.safetensors"}).encode()
    files["weights/dia2.safetensors"] = b"renamed weights"
    files["codec.safetensors"] = b"codec"
    hub_server.add_repo(REPO, files)
    folder = hub.resolve_dia2(REPO, cache_dir=cache_dir, endpoint=hub_server.url, progress=False)
    assert "model.safetensors" not in fetched(hub_server)  # not needed, not downloaded
    assets = hub.read_assets(folder)
    assert assets.weights.read_bytes() == b"renamed weights"
    assert assets.mimi is not None and assets.mimi.read_bytes() == b"codec"


def test_download_fetches_every_tokenizer_file(hub_server, cache_dir):
    """The real-shape layout through the real huggingface_hub client: all six tokenizer files
    arrive (not the test cases), and the engine tokenizes the public cases as the reference."""
    files = {p.name: p.read_bytes() for p in PARITY_FIXTURES["dia2-real-shape"].iterdir()}
    hub_server.add_repo("nari-labs/Dia2-1B", files)
    folder = hub.resolve_dia2("nari-labs/Dia2-1B", cache_dir=cache_dir,
                              endpoint=hub_server.url, progress=False)
    got = {p.name for p in folder.iterdir()}
    assert got == {"config.json", "model.safetensors", *TOKENIZER_FILES}
    assets = hub.read_assets(folder)
    engine = Dia2Engine.load_files(assets.config, assets.weights, assets.tokenizer,
                                   device="cpu", precision="float32")
    for case in load_cases(PARITY_FIXTURES["dia2-real-shape"]):
        ids = [list(e.tokens) for e in engine.parse(case["script"])]
        assert ids == case["expected"]["script_token_ids"]


def write_folder(folder: Path, **extra: bytes) -> Path:
    folder.mkdir()
    for name, data in {**dia2_files(), **extra}.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
    return folder


def test_local_folder(tmp_path):
    folder = write_folder(tmp_path / "ckpt")
    assert hub.resolve_dia2(folder) == folder
    assert hub.resolve_dia2(str(folder)) == folder
    (folder / "tokenizer.json").unlink()
    with pytest.raises(UserError, match="lacks tokenizer.json"):
        hub.resolve_dia2(folder)


def test_local_folder_with_assets_file(tmp_path):
    names = {"config": "c.json", "weights": "w.safetensors", "tokenizer": "t.json",
             "mimi": "kyutai/mimi"}  # a transformers-layout repo name: the default codec stays
    folder = write_folder(tmp_path / "ckpt", **{"c.json": b"{}", "w.safetensors": b"w",
                                                "t.json": b"{}"})
    (folder / "dia2_assets.json").write_text(json.dumps(names))
    assets = hub.read_assets(hub.resolve_dia2(folder))
    assert (assets.config.name, assets.weights.name, assets.tokenizer.name) == (
        "c.json", "w.safetensors", "t.json")
    assert assets.mimi is None
    (folder / "dia2_assets.json").write_text(json.dumps({"weights": "../outside.safetensors"}))
    with pytest.raises(UserError, match="inside the checkpoint folder"):
        hub.resolve_dia2(folder)
    (folder / "dia2_assets.json").write_text("{not json")
    with pytest.raises(UserError, match="not valid JSON"):
        hub.resolve_dia2(folder)


def test_not_a_folder_nor_a_repo(tmp_path):
    with pytest.raises(UserError, match="neither a folder nor"):
        hub.resolve_dia2(str(tmp_path / "no" / "such" / "folder"))


def test_mimi_from_the_default_repo_loads(hub_server, cache_dir, tmp_path):
    demo = save_demo_mimi(tmp_path / "demo.safetensors")
    hub_server.add_repo(hub.MIMI_REPO, {hub.MIMI_FILE: demo.read_bytes(),
                                        "model.safetensors": b"the LM, not needed"})
    path = hub.resolve_mimi(cache_dir=cache_dir, endpoint=hub_server.url, progress=False)
    assert path.name == hub.MIMI_FILE and path.read_bytes() == demo.read_bytes()
    assert fetched(hub_server) == {hub.MIMI_FILE}
    assert MimiCodec.load(path).num_codebooks == 32


def test_mimi_sources(hub_server, cache_dir, tmp_path):
    hub_server.add_repo("someone/codecs", {"sub/m.safetensors": b"m"})
    path = hub.resolve_mimi("someone/codecs/sub/m.safetensors", cache_dir=cache_dir,
                            endpoint=hub_server.url, progress=False)
    assert path.read_bytes() == b"m"
    with pytest.raises(UserError, match=f"has no file {hub.MIMI_FILE}"):
        hub.resolve_mimi("someone/codecs", cache_dir=cache_dir, endpoint=hub_server.url,
                         progress=False)
    folder = tmp_path / "mimi"
    folder.mkdir()
    with pytest.raises(UserError, match=f"lacks {hub.MIMI_FILE}"):
        hub.resolve_mimi(folder)
    (folder / hub.MIMI_FILE).write_bytes(b"x")
    assert hub.resolve_mimi(folder) == folder / hub.MIMI_FILE
    assert hub.resolve_mimi(folder / hub.MIMI_FILE) == folder / hub.MIMI_FILE


def test_download_and_cached_models(hub_server, cache_dir):
    hub_server.add_repo(REPO, dia2_files())
    hub_server.add_repo(hub.MIMI_REPO, {hub.MIMI_FILE: b"mimi" * 1000})
    hub_server.add_repo("Systran/faster-whisper-tiny", {"model.bin": b"w" * 5000,
                                                        "config.json": b"{}"})
    assert hub.cached_models(cache_dir=cache_dir) == []
    got = hub.download([REPO, hub.MIMI_REPO, "Systran/faster-whisper-tiny"],
                       cache_dir=cache_dir, endpoint=hub_server.url, progress=False)
    assert got[REPO].is_dir() and got[hub.MIMI_REPO].name == hub.MIMI_FILE
    assert (got["Systran/faster-whisper-tiny"] / "model.bin").is_file()

    models = {m.repo_id: m for m in hub.cached_models(cache_dir=cache_dir)}
    assert set(models) == {REPO, hub.MIMI_REPO}  # default: the Dia2 and Mimi repositories
    files = dia2_files()
    needed = sum(len(files[n]) for n in ("config.json", "model.safetensors", "tokenizer.json",
                                            "vocab.json"))
    assert models[REPO].size_bytes == needed and models[REPO].complete
    assert models[hub.MIMI_REPO].size_bytes == 4000 and models[hub.MIMI_REPO].complete
    whisper = hub.cached_models(["Systran/faster-whisper-tiny"], cache_dir=cache_dir)
    assert [m.size_bytes for m in whisper] == [5002]


def run_py(code: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    full = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "TRANSFORMERS_"))}
    full.update(env, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-c", code], env=full, cwd=ROOT, text=True,
                          capture_output=True, timeout=120)


def test_environment_variables_in_a_fresh_process(hub_server, tmp_path):
    """HF_ENDPOINT, HF_HUB_CACHE and HF_HUB_OFFLINE as set before huggingface_hub is imported."""
    hub_server.add_repo(REPO, dia2_files())
    code = ("from app.assets.hub import resolve_dia2; "
            f"print(resolve_dia2({REPO!r}, progress=False))")
    cache = str(tmp_path / "cache")
    online = run_py(code, {"HF_ENDPOINT": hub_server.url, "HF_HUB_CACHE": cache})
    assert online.returncode == 0, online.stderr
    folder = Path(online.stdout.strip())
    assert Path(cache) in folder.parents and (folder / "model.safetensors").is_file()
    hub_server.stop()
    offline = run_py(code, {"HF_ENDPOINT": dead_endpoint(), "HF_HUB_CACHE": cache,
                            "HF_HUB_OFFLINE": "1"})
    assert offline.returncode == 0, offline.stderr
    assert Path(offline.stdout.strip()) == folder
