"""The audio subcommands end to end: `transcribe`, `devices`, `play`, `listen` (with --demo)."""

from __future__ import annotations

import json
import os
import re
import sys
import threading
import time

import numpy as np
import pytest

from app.audio.files import read_audio, write_audio
from app.cli import main
from tests.audio.pulse import PORTAUDIO_DEVICE


@pytest.fixture
def demo_cache(tmp_path_factory, monkeypatch):
    """Point the per-user cache (where --demo builds its model) at a test folder."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.getbasetemp() / "xdg-cache"))


def test_transcribe_json(demo_cache, speech_paths, capsys):
    assert main(["transcribe", str(speech_paths[0]), "--demo", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    duration = len(read_audio(speech_paths[0])[0]) / read_audio(speech_paths[0])[1]
    assert out["duration"] == pytest.approx(duration, abs=0.01)
    assert out["words"] and set(out["words"][0]) == {"text", "start", "end", "probability"}
    assert all(0 <= w["start"] <= w["end"] <= duration + 0.02 for w in out["words"])


def test_transcribe_of_a_long_file_shows_progress(demo_cache, tmp_path, speech_paths, capsys):
    audio, rate = read_audio(speech_paths[0], 16000)
    long = np.tile(audio, int(np.ceil(35 * rate / len(audio))))  # over the 30 s threshold
    path = write_audio(tmp_path / "long.wav", long, rate)
    assert main(["transcribe", str(path), "--demo", "--json"]) == 0
    captured = capsys.readouterr()
    json.loads(captured.out)  # stdout stays the result alone
    shown = [float(p.split("/")[0]) for p in captured.err.split("transcribing:")[1:]]
    assert shown and shown == sorted(shown) and shown[-1] <= len(long) / rate + 0.5


def test_transcribe_user_errors(demo_cache, tmp_path, speech_paths, capsys):
    assert main(["transcribe", str(tmp_path / "nope.wav"), "--demo"]) == 2
    assert "no such file" in capsys.readouterr().err
    silent = write_audio(tmp_path / "silent.wav", np.zeros(16000, np.float32), 16000)
    assert main(["transcribe", str(silent), "--demo"]) == 0
    assert "0 words" in capsys.readouterr().out
    assert main(["transcribe", str(speech_paths[0]), "--model", "not-a-model"]) == 2
    assert "unknown recognition model" in capsys.readouterr().err


@pytest.mark.sound
def test_devices_lists_the_virtual_card(pulse_server, capsys):
    assert main(["devices"]) == 0
    assert PORTAUDIO_DEVICE in capsys.readouterr().out


@pytest.mark.sound
def test_play_and_unknown_output(pulse_server, monkeypatch, speech_paths, capsys):
    pulse_server.route(monkeypatch, sink=pulse_server.spk)
    assert main(["play", str(speech_paths[-1]), "--output", PORTAUDIO_DEVICE]) == 0
    assert main(["play", "--demo", "--output", "no such speaker"]) == 2
    assert "no output device has that name" in capsys.readouterr().err


@pytest.mark.sound
def test_listen_prints_the_words_of_a_played_utterance(
    demo_cache, pulse_server, monkeypatch, speech_paths, tmp_path, capsys
):
    speech, rate = read_audio(speech_paths[0], 24000)
    clip = write_audio(
        tmp_path / "clip.wav", np.concatenate([speech, np.zeros(rate, np.float32)]), rate
    )
    pulse_server.route(monkeypatch, source=f"{pulse_server.mic}.monitor")

    def speak() -> None:
        time.sleep(2.0)  # after the model is loaded and the microphone open
        pulse_server.paplay(clip, pulse_server.mic).wait(timeout=30)

    speaker = threading.Thread(target=speak)
    speaker.start()
    code = main(
        [
            "listen",
            "--demo",
            "--input",
            PORTAUDIO_DEVICE,
            "--seconds",
            str(2.0 + len(speech) / rate + 2.5),
        ]
    )
    speaker.join()
    assert code == 0
    out = capsys.readouterr().out
    assert out.count("utterance at") == 1, out


@pytest.mark.sound
def test_listen_push_to_talk_takes_the_stretch_between_two_enters(
    demo_cache, pulse_server, monkeypatch, speech_paths, tmp_path, capsys
):
    """`listen --push-to-talk`: Enter on standard input starts a turn and Enter again ends it;
    the stretch between is one utterance, recognised and printed."""
    speech, rate = read_audio(speech_paths[0], 24000)
    clip = write_audio(
        tmp_path / "clip.wav", np.concatenate([speech, np.zeros(rate // 2, np.float32)]), rate
    )
    pulse_server.route(monkeypatch, source=f"{pulse_server.mic}.monitor")
    read_end, write_end = os.pipe()
    stdin = os.fdopen(read_end, "r")
    keys = os.fdopen(write_end, "w")
    monkeypatch.setattr(sys, "stdin", stdin)

    def press_speak_release() -> None:
        time.sleep(2.0)  # after the model is loaded and the microphone open
        keys.write("\n")
        keys.flush()
        pulse_server.paplay(clip, pulse_server.mic).wait(timeout=30)
        keys.write("\n")
        keys.flush()

    person = threading.Thread(target=press_speak_release)
    person.start()
    try:
        code = main(
            [
                "listen",
                "--demo",
                "--push-to-talk",
                "--input",
                PORTAUDIO_DEVICE,
                "--seconds",
                str(2.0 + len(speech) / rate + 3.0),
            ]
        )
    finally:
        person.join()
        keys.close()
        stdin.close()
    assert code == 0
    captured = capsys.readouterr()
    assert "press Enter to start talking" in captured.err
    assert "(recording: press Enter to stop)" in captured.err
    assert "(stopped: press Enter to talk)" in captured.err
    assert captured.out.count("utterance at") == 1, captured.out
    assert "(no words)" not in captured.out, captured.out
    duration = float(re.search(r", ([0-9.]+) s long", captured.out).group(1))
    assert len(speech) / rate <= duration, captured.out
