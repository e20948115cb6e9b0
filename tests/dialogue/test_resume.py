"""Interrupted renders resume to the same bytes: kill -9 mid-render, then a disk that fills up
while resuming, then `--resume` once more gives exactly the files of an uninterrupted render."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time

from app.dialogue.outputs import EpisodePaths
from tests.dialogue.conftest import DIALOGUE, ROOT, run_main

FRAME_BYTES = 1920 * 4  # one frame of float32 samples in the work folder's audio


def _outputs(out) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in EpisodePaths.for_output(out).outputs()}


def _finished_frames(work) -> list[int]:
    n, frames = 0, []
    while (work / f"gen-{n:05d}.json").is_file():
        frames.append(json.loads((work / f"gen-{n:05d}.json").read_text())["frames"])
        n += 1
    return frames


def test_kill_9_and_full_disk_then_resume_give_identical_files(tmp_path, say_args):
    script = tmp_path / "ep.txt"
    script.write_text(DIALOGUE, encoding="utf-8")

    # the reference: one uninterrupted render (its seed drawn at random, reported in --json)
    a = tmp_path / "a" / "ep.wav"
    done = run_main(say_args("--script", str(script), "-o", str(a), "--json"))
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)[0]
    seed, generations = report["seed"], report["generations"]
    assert generations >= 4
    reference = _outputs(a)

    # the same episode, killed with SIGKILL once its first generation is kept
    b = tmp_path / "b" / "ep.wav"
    paths = EpisodePaths.for_output(b)
    env = dict(os.environ, OMP_NUM_THREADS="1")
    proc = subprocess.Popen([sys.executable, str(ROOT / "main.py"),
                             *say_args("--script", str(script), "-o", str(b), "--seed", str(seed))],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 600
    while not (paths.work / "gen-00000.json").is_file() and proc.poll() is None:
        assert time.monotonic() < deadline, "the first generation took over 10 minutes"
        time.sleep(0.05)
    proc.kill()
    proc.wait()
    assert proc.returncode == -9, proc.stderr.read().decode()  # killed, not finished
    kept = _finished_frames(paths.work)
    assert 1 <= len(kept) < generations
    assert not any(p.exists() for p in paths.outputs())  # nothing half-written at the outputs
    assert not [p for p in b.parent.iterdir() if p.name.startswith(".")]

    # without --resume the unfinished render is not overwritten
    refused = run_main(say_args("--script", str(script), "-o", str(b), "--seed", str(seed)))
    assert refused.returncode == 2 and "--resume" in refused.stderr
    assert _finished_frames(paths.work) == kept

    # resuming on a disk that fills up: the files may grow only 20 frames past what is kept
    limit = (sum(kept) + 20) * FRAME_BYTES

    def small_disk() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    full = run_main(say_args("--script", str(script), "-o", str(b), "--resume"),
                    preexec_fn=small_disk)
    assert full.returncode == 2, full.stderr
    message = full.stderr.strip().splitlines()[-1]
    assert message.startswith("error: no space left writing")
    assert f"{len(kept)} of {generations} generations are kept" in message
    assert "--resume" in message
    assert not any(p.exists() for p in paths.outputs())

    # resumed for good, without giving the seed again: the same bytes as the reference
    resumed = run_main(say_args("--script", str(script), "-o", str(b), "--resume", "--json"))
    assert resumed.returncode == 0, resumed.stderr
    rendered = json.loads(resumed.stdout)[0]["rendered"]
    assert rendered["replayed"] == len(kept)
    assert rendered["generations"] == generations - len(kept)
    assert _outputs(b) == reference
    assert not paths.work.exists()

    # once finished, --resume has nothing to do
    again = run_main(say_args("--script", str(script), "-o", str(b), "--resume"))
    assert again.returncode == 0 and "finished already" in again.stderr
