"""Crash safety: a headless chat killed with SIGKILL in the middle of a reply leaves a recording
that opens and parses."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import soundfile as sf

from tests.conftest import ROOT


def test_kill_mid_turn_leaves_a_playable_recording(tmp_path, demo_root, demo_models, speech_files):
    script = tmp_path / "dialogue.txt"
    words = " ".join(f"word{i}" for i in range(60))
    script.write_text(f"[S2] Hi.\n[S1] {words}\n", encoding="utf-8")
    out = tmp_path / "session"
    env = dict(os.environ, DIA2CHAT_DEMO_DIR=str(demo_root), OMP_NUM_THREADS="1")
    proc = subprocess.Popen(
        [sys.executable, "main.py", "chat", "--demo", "--headless", "--device", "cpu",
         "--user-audio", str(speech_files[0]), "--out", str(out), "--no-greeting",
         "--brain", "script", "--script", str(script), "--max-frames", "400", "--json"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    character = out / "character.wav"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            if character.is_file() and character.stat().st_size > 44 + 2 * 1920 * 12:
                break  # a dozen frames of the reply are on disk: the reply is under way
            time.sleep(0.02)
        assert proc.poll() is None, proc.stderr.read()
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(30)
    assert proc.returncode == -signal.SIGKILL
    data = json.loads((out / "transcript.json").read_text(encoding="utf-8"))
    assert [t["speaker"] for t in data["turns"]] == ["person"]  # the reply was not finished
    lengths = {}
    for name in ("person", "character", "mix"):
        x, rate = sf.read(str(out / f"{name}.wav"), dtype="float32")
        assert rate == 24000
        lengths[name] = len(x)
    assert lengths["character"] >= 12 * 1920
    assert lengths["mix"] == min(lengths["person"], lengths["character"])
    assert (out / "transcript.srt").read_text().startswith("1\n")
    # export re-renders the cut session into one of even tracks
    done = subprocess.run([sys.executable, "main.py", "export", str(out)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    mixed, _ = sf.read(str(out / "mix.wav"))
    assert len(mixed) == max(lengths["person"], lengths["character"])
