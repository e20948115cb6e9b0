"""`say --demo --play` through the virtual sound card: the speech generated while it plays
arrives at the speaker sink, complete."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import soundfile as sf

from tests.audio.pulse import PORTAUDIO_DEVICE

ROOT = Path(__file__).resolve().parents[2]


def test_say_play_reaches_the_speaker(pulse_server, demo_dia2, demo_root, tmp_path):
    wav, rec = tmp_path / "said.wav", tmp_path / "heard.wav"
    env = dict(os.environ, PULSE_SINK=pulse_server.spk, DIA2CHAT_DEMO_DIR=str(demo_root),
               OMP_NUM_THREADS="1")
    recorder = subprocess.Popen(
        ["parecord", f"--device={pulse_server.spk}.monitor", "--rate=24000", "--channels=1",
         "--format=float32le", "--file-format=wav", str(rec)], env=env)
    try:
        time.sleep(0.5)
        out = subprocess.run(
            [sys.executable, str(ROOT / "main.py"), "say", "[S1] Hello there, how are you today?",
             "--demo", "--seed", "3", "--play", "--output", PORTAUDIO_DEVICE, "-o", str(wav)],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
        assert out.returncode == 0, out.stderr
        time.sleep(0.5)
    finally:
        recorder.terminate()
        recorder.wait(10)
    said, _ = sf.read(str(wav), dtype="float32")
    heard, rate = sf.read(str(rec), dtype="float32")
    assert rate == 24000
    heard = heard.reshape(-1)
    # Everything that was generated was played: the recording holds at least as much sound.
    loud = np.abs(heard) > 1e-3
    assert loud.sum() >= 0.9 * (np.abs(said) > 1e-3).sum()
    assert np.abs(heard).max() > 0.5 * np.abs(said).max()
