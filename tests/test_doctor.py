"""`main.py doctor` and `main.py download` as a user runs them, against a real hub-layout server
on 127.0.0.1 (HF_ENDPOINT) and a private Hugging Face cache: before and after a download, offline,
an interrupted download resumed by running the command again, and the sound devices of the
PulseAudio virtual card opened one by one."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from safetensors.torch import load_file

from app.assets import hub, sizes
from app.assets.demo_mimi import save_demo_mimi
from tests.assets.hf_server import HubServer
from tests.audio.pulse import PORTAUDIO_DEVICE, pulse_server  # noqa: F401  (fixture)

ROOT = Path(__file__).resolve().parents[1]
DIA2 = "nari-labs/Dia2-1B"  # what the model choice "auto" picks without a GPU
ASR = "Systran/faster-whisper-base.en"
DIA2_FILES = ("config.json", "model.safetensors", "tokenizer.json")


def run_main(*args: str, env: dict[str, str], timeout: int = 300) -> subprocess.CompletedProcess:
    full = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "TRANSFORMERS_"))}
    full.update(env, OMP_NUM_THREADS="1")
    return subprocess.run([sys.executable, str(ROOT / "main.py"), *args], cwd=ROOT, env=full,
                          capture_output=True, text=True, timeout=timeout)


def doctor(env: dict[str, str], *extra: str) -> tuple[int, dict[str, dict]]:
    """Run `doctor --json` (no sound devices, the CPU recogniser, replies from a server); returns
    (exit code, checks by name)."""
    out = run_main("doctor", "--json", "--no-audio", "--asr", "base.en", "--no-llm", *extra,
                   env=env)
    assert out.returncode in (0, 1) and "Traceback" not in out.stderr, out.stderr
    report = json.loads(out.stdout)
    assert report["ok"] == (out.returncode == 0)
    return out.returncode, {c["name"]: c for c in report["checks"]}


@pytest.fixture
def server(demo_dia2, tmp_path):
    """A hub server publishing Dia2-1B (the demo checkpoint's files), Mimi and a recogniser."""
    mimi = save_demo_mimi(tmp_path / "mimi.safetensors")
    with HubServer() as srv:
        srv.add_repo(DIA2, {n: (demo_dia2 / n).read_bytes() for n in DIA2_FILES}
                     | {"README.md": b"# not needed"})
        srv.add_repo(hub.MIMI_REPO, {hub.MIMI_FILE: mimi.read_bytes()})
        srv.add_repo(ASR, {"model.bin": b"w" * 3000, "config.json": b'{"n": 1}',
                           "tokenizer.json": b'{"t": 2}', "vocabulary.txt": b"a\nb\n"})
        yield srv


@pytest.fixture
def env(server, tmp_path, demo_root) -> dict[str, str]:
    return {"HF_ENDPOINT": server.url, "HF_HUB_CACHE": str(tmp_path / "hf"),
            "DIA2CHAT_DEMO_DIR": str(demo_root)}


def test_before_and_after_download(server, env, demo_dia2):
    code, checks = doctor(env)
    assert code == 0  # online: missing models are downloaded on first use, so only warnings
    assert checks["dia2 model"]["data"]["model"] == DIA2  # auto, on a machine without a GPU
    for repo in (DIA2, hub.MIMI_REPO, ASR):
        c = checks[f"model {repo}"]
        assert c["status"] == "warn" and "not cached" in c["detail"]
        assert not c["data"]["cached"]
    assert checks["offline"]["status"] == "warn"
    assert checks["offline"]["data"]["missing"] == [DIA2, hub.MIMI_REPO, ASR]
    fix = checks["offline"]["fix"]
    assert f"download --model {DIA2} --model {ASR}" in fix
    assert "published shape" in checks["gpu"]["data"]["need_basis"]
    memory = checks["memory"]["data"]
    assert memory["precision"] == "reference"
    assert memory["gpu_bytes"] == sizes.total_gpu(sizes.setup_parts(DIA2, asr=None, llm=None))
    assert checks["python"]["status"] == "ok" and checks["library torch"]["status"] == "ok"

    code, checks = doctor({**env, "HF_HUB_OFFLINE": "1"})
    assert code == 1  # offline and nothing cached: the app cannot run
    assert checks[f"model {DIA2}"]["status"] == "fail"
    assert "HF_HUB_OFFLINE" in checks[f"model {DIA2}"]["detail"]
    assert checks["offline"]["status"] == "fail"

    got = run_main("download", "--model", DIA2, "--model", ASR, env=env)
    assert got.returncode == 0, got.stderr

    code, checks = doctor(env)
    assert code == 0
    on_disk = {
        DIA2: sum((demo_dia2 / n).stat().st_size for n in DIA2_FILES),
        hub.MIMI_REPO: len(server._repos[hub.MIMI_REPO].files[hub.MIMI_FILE]),
        ASR: sum(len(b) for b in server._repos[ASR].files.values()),
    }
    for repo, size in on_disk.items():
        c = checks[f"model {repo}"]
        assert c["status"] == "ok" and c["data"]["complete"], c
        assert c["data"]["size_bytes"] == size
        assert c["data"]["path"].startswith(env["HF_HUB_CACHE"])
    assert checks["offline"]["status"] == "ok" and checks["offline"]["data"]["offline_ok"]

    # The GPU need now comes from the cached checkpoint: its weights' parameter count in float32
    # (the reference precision) and its config's cache shape.
    params = sum(t.numel() for t in load_file(demo_dia2 / "model.safetensors").values())
    config = json.loads((demo_dia2 / "config.json").read_text())["model"]["decoder"]
    cache = (2 * config["n_layer"] * 2 * 1501 * config["kv_heads"] * config["gqa_head_dim"] * 2)
    gpu = checks["gpu"]["data"]
    assert gpu["need_basis"].startswith("Dia2 counted from its cached weights")
    # --asr base.en runs on the CPU and --no-llm drops the reply model: neither adds GPU memory.
    assert gpu["need_bytes"] == (params * 4 + cache + sizes.MIMI.params * 4
                                 + sizes.RUNTIME_BYTES)

    # Offline with the server gone: everything still there.
    server.stop()
    code, checks = doctor({**env, "HF_HUB_OFFLINE": "1"})
    assert code == 0 and checks["offline"]["status"] == "ok"
    assert "HF_HUB_OFFLINE is set" in checks["offline"]["detail"]


def test_interrupted_download_resumes_from_the_command_line(server, env):
    weights = os.urandom(25_000_000)  # bigger than huggingface_hub's 10 MiB write chunks
    server.add_repo("nari-labs/Dia2-2B", {"config.json": b'{"c": 1}',
                                          "model.safetensors": weights,
                                          "tokenizer.json": b'{"t": 1}'})
    server.cut_after("model.safetensors", 15_000_000)
    first = run_main("download", "--model", "nari-labs/Dia2-2B", env=env)
    assert first.returncode == 2
    assert "run the same command again to resume" in first.stderr
    assert "Traceback" not in first.stderr

    code, checks = doctor(env, "--model", "nari-labs/Dia2-2B")
    c = checks["model nari-labs/Dia2-2B"]
    assert c["status"] == "warn" and "partly downloaded" in c["detail"]
    assert c["data"]["cached"] and not c["data"]["complete"]

    server.clear_cuts()
    server.requests.clear()
    again = run_main("download", "--model", "nari-labs/Dia2-2B", env=env)
    assert again.returncode == 0, again.stderr
    ranges = [r.range for r in server.requests
              if r.method == "GET" and r.path.endswith("model.safetensors")]
    assert ranges == [f"bytes={10 * 1024 * 1024}-"]  # resumed, not started over
    code, checks = doctor(env, "--model", "nari-labs/Dia2-2B")
    c = checks["model nari-labs/Dia2-2B"]
    assert c["status"] == "ok" and c["data"]["size_bytes"] == len(weights) + 16
    snapshot = Path(c["data"]["path"]) / "snapshots"
    assert [p.read_bytes() == weights for p in snapshot.glob("*/model.safetensors")] == [True]


def test_demo_needs_nothing_cached(env):
    code, checks = doctor(env, "--demo")
    assert code == 0
    assert checks["offline"]["status"] == "ok"
    assert checks["demo models"]["data"]["path"] == env["DIA2CHAT_DEMO_DIR"]
    assert not [n for n in checks if n.startswith("model ")]


def test_text_output_and_help(env):
    out = run_main("doctor", "--no-audio", "--asr", "base.en", env={**env, "HF_HUB_OFFLINE": "1"})
    assert out.returncode == 1
    lines = out.stdout.splitlines()
    assert any(ln.startswith("FAIL") and "offline" in ln and "download" in ln for ln in lines)
    assert any(ln.startswith("ok") and "python" in ln for ln in lines)
    assert "failed" in lines[-1]
    help_text = " ".join(run_main("doctor", "--help", env=env).stdout.split())
    assert "Exit status: 0 when no check failed" in help_text
    assert "1 when any check failed" in help_text


def test_local_model_folder(env, demo_dia2, tmp_path):
    code, checks = doctor(env, "--model", str(demo_dia2))
    assert checks["model folder"]["status"] == "ok"
    assert f"model {DIA2}" not in checks  # a folder needs no Dia2 download
    assert checks["gpu"]["data"]["need_basis"].startswith("Dia2 counted from its cached weights")
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.json").write_text("{}")
    code, checks = doctor(env, "--model", str(broken))
    assert code == 1 and checks["model folder"]["status"] == "fail"
    assert "lacks model.safetensors" in checks["model folder"]["detail"]


@pytest.mark.sound
def test_sound_devices_are_opened(pulse_server, monkeypatch, env):  # noqa: F811
    pulse_server.route(monkeypatch, sink=pulse_server.spk, source=f"{pulse_server.mic}.monitor")
    full = {**env, **{k: v for k, v in os.environ.items() if k.startswith("PULSE_")}}
    out = run_main("doctor", "--json", "--demo", env=full)
    report = json.loads(out.stdout)
    audio = [c for c in report["checks"] if c["name"].startswith("audio ")]
    pulse = {c["data"]["kind"]: c for c in audio if c["data"].get("device") == PORTAUDIO_DEVICE}
    assert set(pulse) == {"input", "output"}, audio
    for c in pulse.values():
        assert c["status"] == "ok" and c["data"]["opened"], c
        assert "opened at" in c["detail"]
    defaults = [c for c in audio if c["data"].get("default")]
    assert defaults and all(c["status"] == "ok" for c in defaults), defaults
    assert out.returncode == 0, out.stdout


def test_download_without_arguments_fetches_the_whole_setup(server, env, tmp_path):
    llm = "Qwen/Qwen2.5-1.5B-Instruct"
    server.add_repo(llm, {"config.json": b'{"model_type": "qwen2"}', "model.safetensors": b"x" * 5000,
                          "tokenizer.json": b'{"t": 1}'})
    got = run_main("download", "--asr", "base.en", env=env)
    assert got.returncode == 0, got.stderr
    fetched = got.stderr.splitlines()[0]
    assert fetched == f"fetching: {DIA2}, {hub.MIMI_REPO}, {ASR}, {llm}"
    code, checks = doctor(env)
    assert code == 0 and checks["offline"]["data"]["offline_ok"]
    # without --no-llm, doctor also checks the local reply model and counts it in the memory
    out = run_main("doctor", "--json", "--no-audio", "--asr", "base.en", env=env)
    report = {c["name"]: c for c in json.loads(out.stdout)["checks"]}
    assert report[f"model {llm}"]["status"] == "ok" and report["offline"]["status"] == "ok"
    parts = [p["name"] for p in report["memory"]["data"]["parts"]]
    assert "Qwen2.5-1.5B-Instruct (local replies)" in parts
    assert report["memory"]["data"]["gpu_bytes"] == (checks["memory"]["data"]["gpu_bytes"]
                                                     + sizes.REPLY_LLM.params * 2)
    cached = {m.repo_id: m for m in hub.cached_models([DIA2, hub.MIMI_REPO, ASR, llm],
                                                      cache_dir=env["HF_HUB_CACHE"])}
    assert set(cached) == {DIA2, hub.MIMI_REPO, ASR, llm} and all(m.complete for m in cached.values())
    # a server brain needs no local reply model
    again = run_main("download", "--asr", "base.en", "--no-llm", env=env)
    assert again.returncode == 0 and llm not in again.stderr.splitlines()[0]
