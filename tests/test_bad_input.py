"""Bad input, as a new user types it: the real command line in a subprocess, where the exit code,
the one-line message and what is (not) left on disk are what is under test.

Exit codes: 0 done, 1 failed while working, 2 bad input, 130 / 143 interrupted. Every mistake is
caught before any model is loaded: each run gets an empty demo-model folder, and the demo
models, which are built there on first load, must not appear.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

ROOT = Path(__file__).resolve().parents[1]


def run(*args: str, env_extra: dict | None = None, timeout: int = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "main.py"), *args], cwd=ROOT, env=env(env_extra),
                          capture_output=True, text=True, timeout=timeout)


def env(extra: dict | None = None) -> dict:
    return dict(os.environ, OMP_NUM_THREADS="1", HF_HUB_OFFLINE="1", **(extra or {}))


@pytest.fixture
def files(tmp_path, speech_files):
    """Inputs: a voice recording and its word times, a short clip, a non-UTF-8 script, a folder
    that holds a recorded session, a file that is not audio."""
    f = {"voice": str(speech_files[0])}
    seconds = sf.info(str(speech_files[0])).duration
    f["seconds"] = seconds
    f["short"] = str(tmp_path / "short.wav")
    sf.write(f["short"], 0.3 * np.sin(np.arange(2400) / 5.0).astype(np.float32), 24000)
    f["latin1"] = str(tmp_path / "script.txt")
    Path(f["latin1"]).write_bytes("[S1] Caf\xe9 au lait.".encode("latin-1"))
    f["not_audio"] = str(tmp_path / "notes.wav")
    Path(f["not_audio"]).write_text("these are notes, not sound")
    session = tmp_path / "earlier-session"
    session.mkdir()
    (session / "transcript.json").write_text('{"turns": ["keep me"]}')
    (session / "person.wav").write_bytes(b"RIFF-keep-me")
    f["session"] = str(session)
    return f


def words_file(work: Path, words) -> str:
    path = work.parent / "words.json"  # beside the work folder, which must stay empty
    path.write_text(json.dumps(words))
    return str(path)


SAY = ("say", "[S1] Hello there.", "--demo")
CHAT = ("chat", "--demo", "--headless", "--no-greeting")

# (id, argv builder (tmp_path, files) -> args, message fragment)
CASES = [
    ("say-out-in-proc", lambda t, f: (*SAY, "-o", "/proc/x.wav"), "cannot write /proc/x.wav"),
    ("say-out-is-folder", lambda t, f: (*SAY, "-o", str(t)), "is a folder"),
    ("say-out-not-audio", lambda t, f: (*SAY, "-o", str(t / "x.txt")), "unknown audio file type"),
    ("say-out-under-a-file", lambda t, f: (*SAY, "-o", f["latin1"] + "/x.wav"), "is a file, not a folder"),
    ("say-mistyped-script-file", lambda t, f: ("say", "myscript.txt", "--demo", "-o", str(t / "a.wav")),
     "script file not found: myscript.txt"),
    ("say-script-not-utf8", lambda t, f: ("say", f["latin1"], "--demo", "-o", str(t / "a.wav")),
     "is not UTF-8"),
    ("say-empty-script", lambda t, f: ("say", "  ", "--demo", "-o", str(t / "a.wav")), "script is empty"),
    ("say-voice-missing", lambda t, f: (*SAY, "-o", str(t / "a.wav"), "--voice", str(t / "none.wav")),
     "voice file not found"),
    ("say-voice-too-short", lambda t, f: (*SAY, "-o", str(t / "a.wav"), "--voice", f["short"]),
     "ms long"),
    ("say-voice-words-past-end", lambda t, f: (
        *SAY, "-o", str(t / "a.wav"), "--voice", f["voice"], "--voice-words",
        words_file(t, [{"word": "Hi", "start": f["seconds"] + 3, "end": f["seconds"] + 4}])),
     "after the end of the"),
    ("say-voice-words-no-word", lambda t, f: (
        *SAY, "-o", str(t / "a.wav"), "--voice", f["voice"], "--voice-words",
        words_file(t, [{"start": 0.1, "end": 0.4}])), "entry 1 is not a word"),
    ("say-voice-words-negative", lambda t, f: (
        *SAY, "-o", str(t / "a.wav"), "--voice", f["voice"], "--voice-words",
        words_file(t, [{"word": "Hi", "start": -1, "end": 0.4}])), "starts before the recording"),
    ("say-seed-too-big", lambda t, f: (*SAY, "-o", str(t / "a.wav"), "--seed", str(2**70)), "--seed"),
    ("say-negative-temperature", lambda t, f: (*SAY, "-o", str(t / "a.wav"), "--temperature", "-1"),
     "cannot be negative"),
    ("say-cfg-nan", lambda t, f: (*SAY, "-o", str(t / "a.wav"), "--cfg", "nan"), "--cfg must be a number"),
    ("chat-existing-session", lambda t, f: (*CHAT, "--user-audio", f["voice"], "--out", f["session"]),
     "--force"),
    ("chat-out-in-proc", lambda t, f: (*CHAT, "--user-audio", f["voice"], "--out", "/proc/x"),
     "cannot record into /proc/x"),
    ("chat-negative-gap", lambda t, f: (*CHAT, "--user-audio", f["voice"], "--gap", "-5"), "--gap"),
    ("chat-force-without-out", lambda t, f: (*CHAT, "--user-audio", f["voice"], "--force"), "--force needs --out"),
    ("chat-turn-not-audio", lambda t, f: (*CHAT, "--user-audio", f["not_audio"], "--out", str(t / "s")),
     "cannot read this as audio"),
    ("chat-server-unreachable", lambda t, f: (
        *CHAT, "--user-audio", f["voice"], "--out", str(t / "s"), "--brain", "openai",
        "--llm-url", f"http://127.0.0.1:{_free_port()}/v1"), "nothing is listening"),
    ("chat-llm-folder-not-a-model", lambda t, f: (
        *CHAT, "--user-audio", f["voice"], "--out", str(t / "s"), "--brain", "transformers",
        "--llm-model", f["session"]), "holds no config.json"),
]


def _free_port() -> int:
    from tests.brains.chat_server import free_port

    return free_port()


@pytest.mark.parametrize("build, fragment", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_is_one_line_before_any_model_loads(build, fragment, tmp_path, files):
    models = tmp_path / "demo-models"  # demo models are built here on first load
    session_before = {p.name: p.read_bytes() for p in Path(files["session"]).iterdir()}
    work = tmp_path / "work"
    work.mkdir()
    out = run(*build(work, files), env_extra={"DIA2CHAT_DEMO_DIR": str(models),
                                              "XDG_DATA_HOME": str(tmp_path / "data")})
    lines = out.stderr.strip().splitlines()
    assert out.returncode == 2, out.stderr
    assert len(lines) == 1 and lines[0].startswith("error: ") and fragment in lines[0], out.stderr
    assert len(lines[0]) < 600
    assert not models.exists() or not any(models.iterdir()), "a model was loaded"
    assert sorted(p.name for p in work.iterdir()) == [], "something was written"
    assert {p.name: p.read_bytes() for p in Path(files["session"]).iterdir()} == session_before


def test_export_of_a_damaged_track_says_so(tmp_path, files):
    folder = Path(files["session"])
    (folder / "transcript.json").write_text(json.dumps({"sample_rate": 24000, "turns": []}))
    (folder / "person.wav").write_bytes(b"JUNK" + bytes(100))
    out = run("export", str(folder))
    assert out.returncode == 2 and "person.wav is damaged" in out.stderr, out.stderr
    assert "Traceback" not in out.stderr


def test_download_list_on_an_empty_cache_says_so(tmp_path):
    out = run("download", "--list", env_extra={"HF_HUB_CACHE": str(tmp_path / "hf")})
    assert out.returncode == 0 and "no models in the cache" in out.stderr


def test_written_files_keep_normal_permissions(tmp_path, demo_dia2, demo_root):
    wav = tmp_path / "a.wav"
    wav.write_bytes(b"old")
    wav.chmod(0o644)
    out = run(*SAY, "-o", str(wav), "--seed", "1", env_extra={"DIA2CHAT_DEMO_DIR": str(demo_root)})
    assert out.returncode == 0, out.stderr
    assert wav.stat().st_mode & 0o777 == 0o644  # not narrowed to the owner by the overwrite
    new = tmp_path / "b.wav"
    old_umask = os.umask(0o022)
    try:
        out = run(*SAY, "-o", str(new), "--seed", "1", env_extra={"DIA2CHAT_DEMO_DIR": str(demo_root)})
    finally:
        os.umask(old_umask)
    assert out.returncode == 0 and new.stat().st_mode & 0o777 == 0o644


def test_headless_chat_whose_replies_fail_exits_1_and_keeps_the_recording(tmp_path, files, demo_root,
                                                                          demo_dia2):
    from tests.brains.chat_server import ChatServer

    with ChatServer() as server:
        server.no_models_route = True  # the connection check asks for one token: it answers
        out = run(*CHAT, "--user-audio", files["voice"], "--out", str(tmp_path / "s"), "--brain",
                  "openai", "--llm-url", server.base_url, "--llm-model", "crash", "--max-frames", "8",
                  env_extra={"DIA2CHAT_DEMO_DIR": str(demo_root)})
    assert out.returncode == 1, out.stderr
    assert "CUDA out of memory" in out.stderr and "Traceback" not in out.stderr
    data = json.loads((tmp_path / "s" / "transcript.json").read_text())
    assert [t["speaker"] for t in data["turns"]] == ["person"]  # what worked is kept


def test_sigterm_in_headless_chat_finishes_the_recording(tmp_path, files, demo_root, demo_dia2):
    out_dir = tmp_path / "s"
    proc = subprocess.Popen([sys.executable, str(ROOT / "main.py"), *CHAT, "--user-audio",
                             *[files["voice"]] * 8, "--out", str(out_dir)], cwd=ROOT,
                            env=env({"DIA2CHAT_DEMO_DIR": str(demo_root)}),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and proc.poll() is None:
            if (out_dir / "transcript.json").is_file():
                break
            time.sleep(0.1)
        time.sleep(1.0)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 143, err
    assert "terminate called" not in err and "Traceback" not in err
    data = json.loads((out_dir / "transcript.json").read_text())
    assert "duration" in data  # written when the recording is finished
    x, rate = sf.read(str(out_dir / "mix.wav"))
    assert rate == 24000 and len(x) / rate == pytest.approx(data["duration"], abs=1e-3)


def test_devices_without_any_says_where_to_look(tmp_path):
    cards = Path("/proc/asound/cards")
    if cards.is_file() and "no soundcards" not in cards.read_text():
        pytest.skip("this machine has sound hardware: PortAudio lists it without PulseAudio")
    out = run("devices", env_extra={"PULSE_SERVER": f"unix:{tmp_path / 'no-server'}"})
    assert out.returncode == 2 and "no sound devices found" in out.stderr
    assert "PulseAudio or PipeWire" in out.stderr and "--headless" in out.stderr
