"""`say --script` / `say --batch` on bad input: one clear line, exit code 2, nothing written;
and a batch that skips finished scripts."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf

from app.cli import main
from tests.dialogue.conftest import run_main


def _err(capsys) -> str:
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines  # one line
    return lines[0]


@pytest.fixture
def script(tmp_path):
    def write(text: str, name: str = "ep.txt"):
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return write


@pytest.mark.parametrize(("text", "message"), [
    ("", "has nothing to say"),
    ("Just some words without any speaker tag.", "must start with a speaker tag"),
    ("[S1] Hello.\n[S2]\n[S1] Anyone?", "line 2 of ep.txt: the [S2] turn has no words"),
    ("[S1] Hello <break/> there.", "malformed pause"),
])
def test_bad_scripts(script, tmp_path, say_args, capsys, text, message):
    out = tmp_path / "out" / "ep.wav"
    assert main(say_args("--script", str(script(text)), "-o", str(out))) == 2
    line = _err(capsys)
    assert line.startswith("error: ") and message in line
    assert not out.parent.exists() or not any(out.parent.iterdir())


def test_bad_voices_and_outputs(script, tmp_path, say_args, capsys):
    ep = str(script("[S1] Hello there. [S2] Hi."))
    out = str(tmp_path / "ep.wav")
    text = tmp_path / "notes.wav"
    text.write_text("not audio at all")
    silent = tmp_path / "silent.wav"
    sf.write(str(silent), np.zeros(48000, np.float32), 24000)
    words = tmp_path / "none.json"
    words.write_text("[]")
    speech = tmp_path / "tone.wav"
    sf.write(str(speech), 0.3 * np.sin(np.arange(48000) / 7).astype(np.float32), 24000)
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where a folder should be")
    cases = [
        (["--voice-s1", str(tmp_path / "missing.wav")], "voice file not found"),
        (["--voice-s1", str(text)], "is not an audio file that can be read"),
        (["--voice-s2", str(silent)], "is silent"),
        (["--voice-s1", str(speech), "--voice-words-s1", str(words)], "holds no words"),
        (["--voice-words-s2", str(words)], "--voice-words-s2 needs --voice-s2"),
    ]
    for extra, message in cases:
        assert main(say_args("--script", ep, "-o", out, *extra)) == 2
        assert message in _err(capsys)
    assert main(say_args("--script", ep, "-o", str(blocker / "ep.wav"))) == 2
    assert "is a file, not a folder" in _err(capsys)
    assert main(say_args("--script", ep, "-o", str(tmp_path / "ep.episode"))) == 2
    assert "give the output a file name ending in .wav" in _err(capsys)
    assert main(say_args("--script", str(tmp_path / "nope.txt"), "-o", out)) == 2
    assert "script file not found" in _err(capsys)
    assert main(say_args("--script", ep)) == 2
    assert "--script needs -o FILE.wav" in _err(capsys)
    assert main(say_args("[S1] Hi.", "--voice-s1", str(speech), "-o", out)) == 2
    assert "use it with --script FILE or --batch FOLDER" in _err(capsys)
    assert main(say_args("--script", ep, "--voice", str(speech), "-o", out)) == 2
    assert "--voice-s1 / --voice-s2" in _err(capsys)
    assert main(say_args("--script", ep, "--max-frames", "50", "-o", out)) == 2
    assert "leave --max-frames out" in _err(capsys)
    assert not list(tmp_path.glob("ep*.wav"))


def test_a_voice_that_is_not_speech(script, tmp_path, say_args, capsys):
    """A faint hum: loud enough to be read as a recording (above -60 dBFS), but the recogniser
    hears nothing in it (its peak stays under -50 dBFS), so there are no words to hold a voice."""
    ep = str(script("[S1] Hello there. [S2] Hi."))
    hum = tmp_path / "hum.wav"
    sf.write(str(hum), 0.002 * np.sin(np.arange(72000) * 2 * np.pi * 50 / 24000), 24000)
    out = tmp_path / "ep.wav"
    assert main(say_args("--script", ep, "-o", str(out), "--voice-s1", str(hum), "--demo")) == 2
    line = _err(capsys)
    assert "no speech was recognised in" in line and "--voice-words-s1" in line
    assert not out.exists()


def test_resume_refuses_another_script(script, tmp_path, say_args, capsys):
    out = tmp_path / "ep.wav"
    work = tmp_path / "ep.render"
    first = run_main(say_args("--script", str(script("[S1] Hello there. [S2] Hi.")), "-o",
                              str(out), "--seed", "1", "--resume", "--json"))
    assert first.returncode == 0, first.stderr
    assert not work.exists()
    # an unfinished render of another script: made by keeping only its manifest
    work.mkdir()
    (work / "manifest.json").write_text(json.dumps({"version": 1, "script": "0" * 64}))
    assert main(say_args("--script", str(script("[S1] Something else. [S2] Yes.")), "-o",
                         str(out), "--resume")) == 2
    line = _err(capsys)
    assert "was made with another script" in line and "delete that folder" in line
    assert (work / "manifest.json").is_file()


def test_batch_skips_finished_scripts(tmp_path, say_args):
    src, dst = tmp_path / "scripts", tmp_path / "rendered"
    src.mkdir()
    (src / "one.txt").write_text("[S1] Hello there. [S2] Hi, how are you?")
    (src / "two.txt").write_text("[S2] Good morning! [S1] Morning.")
    (src / "bad.txt").write_text("no tags here")
    (src / "notes.md").write_text("[S1] not a script: not a .txt file")
    first = run_main(say_args("--batch", str(src), "--out", str(dst), "--seed", "2"))
    assert first.returncode == 2  # bad.txt failed; the others were rendered
    assert "bad.txt: error: line 1 of bad.txt" in first.stderr
    assert "1 of 3 scripts failed: bad.txt" in first.stderr
    for name in ("one", "two"):
        for suffix in (".wav", ".S1.wav", ".S2.wav", ".transcript.json", ".srt", ".vtt"):
            assert (dst / f"{name}{suffix}").is_file()
    said = json.loads((dst / "two.transcript.json").read_text())
    assert [t["speaker"] for t in said["turns"]] == ["S2", "S1"]
    stamp = (dst / "one.wav").stat().st_mtime_ns
    (src / "bad.txt").write_text("[S1] Fixed now.")
    second = run_main(say_args("--batch", str(src), "--out", str(dst), "--seed", "2"))
    assert second.returncode == 0, second.stderr
    assert "one.txt: finished already, skipped" in second.stderr
    assert "two.txt: finished already, skipped" in second.stderr
    assert (dst / "one.wav").stat().st_mtime_ns == stamp
    assert (dst / "bad.wav").is_file()
