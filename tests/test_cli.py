"""The command line as a user runs it: `main.py say --demo`, its errors and exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import soundfile as sf

ROOT = Path(__file__).resolve().parents[1]


def run_cli(*args: str, demo_root: Path, timeout: int = 300) -> subprocess.CompletedProcess:
    env = dict(os.environ, DIA2CHAT_DEMO_DIR=str(demo_root), OMP_NUM_THREADS="1", HF_HUB_OFFLINE="1")
    return subprocess.run([sys.executable, str(ROOT / "main.py"), *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)


def test_help_lists_commands(demo_root):
    out = run_cli("--help", demo_root=demo_root)
    assert out.returncode == 0
    assert "say" in out.stdout and "bench" in out.stdout


def test_say_demo_writes_wav_and_json(tmp_path, demo_dia2, demo_root):
    wav = tmp_path / "hello.wav"
    out = run_cli("say", "[S1] Hello there! [S2] Hi, how are you?", "--demo", "-o", str(wav),
                  "--seed", "1", "--json", demo_root=demo_root)
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    info = sf.info(str(wav))
    assert info.samplerate == 24000 and info.channels == 1
    assert info.frames == report["timings"]["frames"] * 1920 > 0
    assert [w["word"] for w in report["words"]] == ["Hello", "there!", "Hi,", "how", "are", "you?"]
    starts = [w["start"] for w in report["words"]]
    assert starts == sorted(starts)
    assert report["seed"] == 1


def test_say_max_frames_stops_early(tmp_path, demo_dia2, demo_root):
    wav = tmp_path / "short.wav"
    out = run_cli("say", "[S1] Hello there! [S2] Hi, how are you?", "--demo", "-o", str(wav),
                  "--seed", "1", "--json", "--max-frames", "10", demo_root=demo_root)
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    # Aligned frame f is final after step f + max_delay - 1; steps 0..9 finish frames 0..10-max_delay.
    max_delay = max(json.loads((demo_dia2 / "config.json").read_text())["data"]["delay_pattern"])
    assert report["timings"]["frames"] == 10 - max_delay + 1
    assert sf.info(str(wav)).frames == report["timings"]["frames"] * 1920
    assert report["truncated"] and "stopped after --max-frames 10" in out.stderr


def test_say_bad_script_fails_cleanly_without_output(tmp_path, demo_root):
    wav = tmp_path / "x.wav"
    out = run_cli("say", '[S1] Hi <break time="soon"/>', "--demo", "-o", str(wav), demo_root=demo_root)
    assert out.returncode == 2
    assert "malformed pause" in out.stderr and "Traceback" not in out.stderr
    assert not wav.exists()


def test_say_needs_an_output(demo_root):
    out = run_cli("say", "[S1] Hi there.", "--demo", demo_root=demo_root)
    assert out.returncode == 2 and "-o FILE.wav, --play" in out.stderr


def test_offline_without_cache_says_what_to_do(tmp_path, demo_root):
    env_cache = tmp_path / "hf"
    env = dict(os.environ, HF_HUB_OFFLINE="1", HF_HUB_CACHE=str(env_cache), HF_HOME=str(env_cache))
    out = subprocess.run([sys.executable, str(ROOT / "main.py"), "say", "[S1] Hi.", "-o",
                          str(tmp_path / "a.wav"), "--device", "cpu"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 2
    assert "download" in out.stderr and "Traceback" not in out.stderr


def test_bench_turn_reports_every_stage_of_a_real_turn(tmp_path, demo_root):
    """`bench --turn` with the real recogniser and reply model: every stage measured, in order
    (the figures themselves belong in docs/benchmarks.md, not here)."""
    import json

    from tests.audio.speech import ESPEAK_SENTENCES, espeak

    wav = espeak(ESPEAK_SENTENCES[4], tmp_path / "q.wav")
    out = tmp_path / "turn.json"
    run = run_cli("bench", "--turn", str(wav), "--repeats", "1", "--json", str(out),
                  demo_root=demo_root, timeout=900)
    assert run.returncode == 0, run.stderr
    assert "first sample heard" in run.stdout
    data = json.loads(out.read_text())
    assert "Whisper base" in data["recogniser"] and "SmolLM2" in data["reply_model"]
    (turn,) = data["turns"]
    stages = [turn[k] for k in ("words_ready_s", "first_text_s", "first_frame_s", "first_heard_s")]
    assert None not in stages and stages == sorted(stages)
