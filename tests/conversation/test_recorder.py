"""The session recording: valid after every write, atomic transcript, a full disk reported."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from app.conversation.export import export_session
from app.conversation.recorder import SessionRecorder
from app.conversation.turns import CHARACTER, PERSON, Turn
from app.conversation.wavlog import RecordingError, WavAppender
from app.core import Word


def tone(seconds: float, freq: float = 220.0, amp: float = 0.3) -> np.ndarray:
    t = np.arange(int(seconds * 24000)) / 24000
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def test_wav_is_valid_after_every_append(tmp_path):
    w = WavAppender(tmp_path / "a.wav", 24000)
    assert sf.info(str(tmp_path / "a.wav")).frames == 0
    total = 0
    for n in (1920, 1, 4800, 333):
        w.append(tone(n / 24000))
        total += n
        x, rate = sf.read(str(tmp_path / "a.wav"), dtype="float32")  # the file as another reader sees it
        assert rate == 24000 and len(x) == total
    w.close()


def test_tracks_share_one_timeline_and_mix(tmp_path):
    errors = []
    rec = SessionRecorder(tmp_path / "s", meta={"character": {"name": "Ava"}}, on_error=errors.append)
    person, reply = tone(1.0, 200), tone(0.5, 400)
    rec.write("person", 0, person)
    rec.write("character", 36000, reply)  # 1.5 s: half a second of silence after the person
    words = (Word("hello", 0.1, 0.4), Word("there.", 0.5, 0.9))
    rec.add_turn(Turn(0, PERSON, words, torch.zeros(32, 13, dtype=torch.long), 0.0, 1.0))
    rec.add_turn(Turn(1, CHARACTER, (Word("hi", 0.0, 0.3),), None, 1.5, 0.5, True))
    # readable while the session is still open
    data = json.loads((tmp_path / "s" / "transcript.json").read_text())
    assert [t["speaker"] for t in data["turns"]] == ["person", "character"]
    assert data["turns"][1]["words"][0]["start"] == 1.5 and data["turns"][1]["interrupted"]
    rec.close()
    p, _ = sf.read(str(tmp_path / "s" / "person.wav"), dtype="float32")
    c, _ = sf.read(str(tmp_path / "s" / "character.wav"), dtype="float32")
    m, _ = sf.read(str(tmp_path / "s" / "mix.wav"), dtype="float32")
    assert len(p) == len(c) == len(m) == 48000
    assert np.abs(c[:36000]).max() == 0 and np.abs(c[36000:]).max() > 0.2
    np.testing.assert_allclose(m, np.clip(p + c, -1, 1), atol=2 / 32767)
    assert not errors
    srt = (tmp_path / "s" / "transcript.srt").read_text()
    vtt = (tmp_path / "s" / "transcript.vtt").read_text()
    assert "00:00:00,100 --> 00:00:00,900\nYou: hello there." in srt
    assert vtt.startswith("WEBVTT") and "00:00:01.500 --> " in vtt and "Ava: hi —" in vtt
    assert not list((tmp_path / "s").glob(".*tmp"))  # no temporary files left


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_full_disk_stops_recording_not_the_session(tmp_path):
    folder = tmp_path / "s"
    folder.mkdir()
    os.symlink("/dev/full", folder / "character.wav")  # every write there fails with ENOSPC
    with pytest.raises(RecordingError, match="disk .* is full"):
        WavAppender(folder / "character.wav", 24000)
    os.unlink(folder / "character.wav")
    errors = []
    rec = SessionRecorder(folder, on_error=errors.append)
    rec.write("person", 0, tone(0.2))
    rec._wavs["character"]._f = open("/dev/full", "r+b")  # noqa: SIM115 - the disk fills up now
    rec.write("character", 0, tone(0.2))  # must not raise
    rec.write("character", 4800, tone(0.2))
    rec.add_turn(Turn(0, PERSON, (Word("a", 0, 0.1),), None))
    rec.close()
    assert len(errors) == 1 and "full" in errors[0]
    x, _ = sf.read(str(folder / "person.wav"))
    assert len(x) == 4800  # what was recorded before is kept


def test_export_repairs_and_remixes(tmp_path):
    rec = SessionRecorder(tmp_path / "s", meta={"character": {"name": "Ava"}})
    rec.write("person", 0, tone(0.5))
    rec.write("character", 24000, tone(0.25))
    rec.add_turn(Turn(0, CHARACTER, (Word("hi", 0.0, 0.2),), None, 1.0, 0.25))
    # a crash: no close(); the header of person.wav misses its last chunk
    with open(tmp_path / "s" / "person.wav", "ab") as f:
        f.write(np.zeros(2400, dtype="<i2").tobytes())
    summary = export_session(tmp_path / "s", tmp_path / "out")
    assert summary["turns"] == 1 and summary["seconds"] == 1.25
    for name in ("person", "character", "mix"):
        x, _ = sf.read(str(tmp_path / "out" / f"{name}.wav"))
        assert len(x) == 30000
    assert "Ava: hi" in (tmp_path / "out" / "transcript.srt").read_text()


def test_the_raw_microphone_is_recorded_beside_the_mix(tmp_path):
    rec = SessionRecorder(tmp_path / "s")
    assert not (tmp_path / "s" / "microphone.wav").exists()  # only written when used
    cleaned, raw = tone(0.5, amp=0.1), tone(0.5, amp=0.4)
    rec.write("person", 2400, cleaned)
    rec.write_side("microphone", 2400, raw)
    rec.write("character", 0, tone(1.0, 330.0))
    with pytest.raises(ValueError):
        rec.write_side("elsewhere", 0, raw)
    rec.close()
    mic, _ = sf.read(str(tmp_path / "s" / "microphone.wav"), dtype="float32")
    mix, _ = sf.read(str(tmp_path / "s" / "mix.wav"), dtype="float32")
    person, _ = sf.read(str(tmp_path / "s" / "person.wav"), dtype="float32")
    assert len(mic) == 2400 + len(raw) and np.abs(mic[:2400]).max() == 0
    assert np.allclose(mic[2400:], raw, atol=1e-4)
    assert np.allclose(person[2400:2400 + len(cleaned)], cleaned, atol=1e-4)
    # the mix is the cleaned person plus the character, never the raw microphone
    assert np.allclose(mix[:24000], person[:24000] + tone(1.0, 330.0), atol=2e-4)
    data = json.loads((tmp_path / "s" / "transcript.json").read_text())
    assert data["files"]["microphone"] == "microphone.wav"
