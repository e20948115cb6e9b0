"""`say --script --play` through the virtual sound card: the episode plays while it is rendered,
across its generations, and all of it reaches the speaker."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import numpy as np
import soundfile as sf

from tests.audio.pulse import PORTAUDIO_DEVICE, pulse_server  # noqa: F401  (fixture)
from tests.dialogue.conftest import ROOT

SCRIPT = ("[S1] Hello there, how are you doing today? I hope the trip was fine and not too long.\n"
          "[S2] I am fine, thanks for asking. What a lovely day it is, really lovely!\n"
          "[S1] Yes. Let me think about that for a second.\n")


def test_play_while_rendering_reaches_the_speaker(pulse_server, say_args, tmp_path):  # noqa: F811
    script = tmp_path / "ep.txt"
    script.write_text(SCRIPT)
    wav, rec = tmp_path / "ep.wav", tmp_path / "heard.wav"
    env = dict(os.environ, PULSE_SINK=pulse_server.spk, OMP_NUM_THREADS="1")
    recorder = subprocess.Popen(
        ["parecord", f"--device={pulse_server.spk}.monitor", "--rate=24000", "--channels=1",
         "--format=float32le", "--file-format=wav", str(rec)], env=env)
    try:
        time.sleep(0.5)
        out = subprocess.run(
            [sys.executable, str(ROOT / "main.py"),
             *say_args("--script", str(script), "-o", str(wav), "--seed", "3", "--play",
                       "--output", PORTAUDIO_DEVICE, "--json")],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
        assert out.returncode == 0, out.stderr
        time.sleep(0.5)
    finally:
        recorder.terminate()
        recorder.wait(10)
    assert json.loads(out.stdout)[0]["generations"] >= 2  # the joins were played too
    said, _ = sf.read(str(wav), dtype="float32")
    heard, rate = sf.read(str(rec), dtype="float32")
    heard = heard.reshape(-1)
    assert rate == 24000
    loud = np.abs(heard) > 1e-3
    assert loud.sum() >= 0.9 * (np.abs(said) > 1e-3).sum()
    assert np.abs(heard).max() > 0.5 * np.abs(said).max()
