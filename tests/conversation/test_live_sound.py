"""The live conversation on the virtual sound card (tests/audio/pulse.py), with the demo models and
a scripted brain: a spoken turn is answered aloud and recorded; speaking over the character
interrupts it; the character's own voice looped back into the microphone does not, a louder
person on top of it does; and the terminal chat (`main.py chat --demo`) runs end to end.

The "microphone" is the monitor of the `mic` null sink (speech is played into it with paplay), the
"speaker" is the `spk` null sink, whose monitor a second capture records with arrival times.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from app.conversation.events import Interrupted, PersonWords, State, StateChanged, TurnAdded
from tests.audio.pulse import PORTAUDIO_DEVICE, pulse_server  # noqa: F401  (fixture)

pytestmark = pytest.mark.sound

ROOT = Path(__file__).resolve().parents[2]
RATE = 24000
LOUD = 0.01  # a speaker chunk whose peak is above this carries the character's voice
LONG_REPLY = " ".join(["this is a rather long answer that goes on and on"] * 5)


class Events:
    """Every event of a session, with the time it arrived (perf_counter)."""

    def __init__(self) -> None:
        self.items: list[tuple[float, object]] = []
        self._cond = threading.Condition()

    def __call__(self, event) -> None:
        with self._cond:
            self.items.append((time.perf_counter(), event))
            self._cond.notify_all()

    def of(self, kind) -> list:
        with self._cond:
            return [e for _, e in self.items if isinstance(e, kind)]

    def wait(self, pred, timeout: float) -> tuple[float, object]:
        """The first (time, event) matching `pred`, waiting up to `timeout` seconds."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for t, e in self.items:
                    if pred(e):
                        return t, e
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no such event within {timeout} s: "
                                         f"{[type(e).__name__ for _, e in self.items][-30:]}")
                self._cond.wait(left)

    def reply_done(self, timeout: float, after: int = 0) -> None:
        """Wait for the pipeline to go from speaking back to listening (a reply ended)."""
        self.wait(lambda e: isinstance(e, StateChanged) and e.state == State.LISTENING
                  and e.previous == State.SPEAKING and self._index(e) >= after, timeout)

    def _index(self, event) -> int:
        return next(i for i, (_, e) in enumerate(self.items) if e is event)

    def __len__(self) -> int:
        return len(self.items)


class SpeakerTap:
    """Records the `spk` sink's monitor; each chunk is kept with the time it arrived."""

    def __init__(self, card, monkeypatch) -> None:
        from app.audio.capture import Capture, CaptureConfig

        self.chunks: list[tuple[float, np.ndarray]] = []
        monkeypatch.setenv("PULSE_SOURCE", f"{card.spk}.monitor")
        try:
            self.capture = Capture(CaptureConfig(device=PORTAUDIO_DEVICE, samplerate=RATE),
                                   on_chunk=self._add).start()
        finally:
            monkeypatch.setenv("PULSE_SOURCE", f"{card.mic}.monitor")

    def _add(self, chunk) -> None:
        self.chunks.append((time.perf_counter(), chunk.samples.copy()))

    def audio(self, since: float = 0.0, until: float = float("inf")) -> np.ndarray:
        parts = [x for t, x in list(self.chunks) if since <= t < until]
        return np.concatenate(parts) if parts else np.zeros(0, np.float32)

    def first_loud(self, since: float = 0.0, timeout: float = 120.0) -> float:
        """Arrival time of the first chunk carrying sound after `since`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for t, x in list(self.chunks):
                if t >= since and np.abs(x).max() > LOUD:
                    return t
            time.sleep(0.02)
        raise AssertionError("nothing was played to the speaker")

    def last_loud(self, before: float = float("inf")) -> float | None:
        loud = [t for t, x in list(self.chunks) if t < before and np.abs(x).max() > LOUD]
        return loud[-1] if loud else None

    def stop(self) -> None:
        self.capture.stop()


@pytest.fixture
def card(pulse_server, monkeypatch):  # noqa: F811
    """The virtual sound card: new streams play to `spk` and record `mic.monitor`."""
    pulse_server.route(monkeypatch, sink=pulse_server.spk, source=f"{pulse_server.mic}.monitor")
    return pulse_server


@pytest.fixture
def tap(card, monkeypatch):
    t = SpeakerTap(card, monkeypatch)
    yield t
    t.stop()


@pytest.fixture(scope="module")
def ava():
    from app.conversation.character import find_character

    return find_character("ava")


@pytest.fixture(scope="module")
def loud_speech(speech_files, tmp_path_factory) -> list[Path]:
    """The speech files normalised to a 0.9 peak (float WAVs), so a voice is louder than the
    character's echo."""
    from app.audio.files import read_audio, write_audio

    folder = tmp_path_factory.mktemp("loud")
    out = []
    for i, path in enumerate(speech_files):
        x, _ = read_audio(path, RATE)
        out.append(write_audio(folder / f"loud{i}.wav", 0.9 * x / np.abs(x).max(), RATE,
                               subtype="FLOAT"))
    return out


def _live(models, ava, out: Path, events: Events, script: str, max_frames: int, **config):
    from app.brains.script import ScriptBrain
    from app.conversation.live import LiveConfig, LiveSession
    from app.conversation.options import SessionOptions

    cfg = LiveConfig(input=PORTAUDIO_DEVICE, output=PORTAUDIO_DEVICE, greeting=False,
                     max_frames=max_frames, **config)
    return LiveSession(ava, SessionOptions(demo=True), cfg, out=out, on_event=events,
                       models=models, brain=ScriptBrain.from_text(script)).start()


def _check_recording(folder: Path) -> dict:
    for name in ("person.wav", "character.wav", "mix.wav"):
        info = sf.info(str(folder / name))
        assert info.samplerate == RATE and info.frames > 0, name
    data = json.loads((folder / "transcript.json").read_text())
    assert (folder / "transcript.srt").is_file() and (folder / "transcript.vtt").is_file()
    return data


def _play(card, path: Path) -> None:
    player = card.paplay(path, card.mic)
    assert player.wait(timeout=30) == 0, player.stderr.read()


def test_a_spoken_turn_is_answered_aloud_and_recorded(card, tap, demo_models, ava, speech_files,
                                                      tmp_path):
    events = Events()
    live = _live(demo_models, ava, tmp_path / "rec", events, "[S1] Well hello to you too.", 40)
    try:
        time.sleep(0.3)
        _play(card, speech_files[0])
        _, words = events.wait(lambda e: isinstance(e, PersonWords), 60)
        assert words.words, "the demo recogniser heard nothing"
        started = tap.first_loud(timeout=120)
        events.reply_done(120)
        time.sleep(0.3)
    finally:
        live.stop()
    played = tap.audio(since=started - 0.1)
    assert np.abs(played).max() > 0.05  # the reply reached the speaker
    assert np.sqrt(np.mean(played**2)) > 0.005
    assert not events.of(Interrupted)
    data = _check_recording(tmp_path / "rec")
    speakers = [t["speaker"] for t in data["turns"]]
    assert speakers == ["person", "character"], speakers
    person, reply = data["turns"]
    assert person["words"] and not reply["interrupted"]
    # (the random demo Dia2 may place no word in so few frames; its audio is what counts here)
    assert reply["end"] - reply["start"] > 1.0 and reply["timings"]["frames"] > 10
    assert reply["timings"]["first_heard_s"] is not None
    mic, _ = sf.read(str(tmp_path / "rec" / "person.wav"), dtype="float32")
    assert np.abs(mic).max() > 0.05  # the microphone stream was recorded


def _arrival(live, voice: Path, injected: float) -> float:
    """When `voice` (played into the microphone sink at `injected`) reached the microphone: its
    offset in the raw microphone track by cross-correlation (it may lie under a louder echo, and
    the `AudioLevel` events carry the cleaned microphone, where the canceller softens its start)."""
    from app.audio.files import read_audio

    raw, _ = sf.read(str(live.out / "microphone.wav"), dtype="float32")
    at = round((live.timeline_now() - (time.perf_counter() - injected)) * RATE)
    seg = raw[at:at + 3 * RATE]
    ref, _ = read_audio(voice, RATE)
    ref = ref[np.argmax(np.abs(ref) > 0.1 * np.abs(ref).max()):][:RATE]  # its first second of sound
    size = 1 << (len(seg) + len(ref)).bit_length()
    xc = np.fft.irfft(np.fft.rfft(seg, size) * np.conj(np.fft.rfft(ref, size)), size)
    return injected + int(np.argmax(xc[: len(seg)])) / RATE


def _interrupt_while_speaking(card, tap, events, live, voice: Path, spoken_after: float = 0.8):
    """Let the character speak a while, inject `voice`, return the measured delays (s)."""
    start = tap.first_loud(timeout=120)
    time.sleep(spoken_after)
    assert events.of(StateChanged)[-1].state == State.SPEAKING, "the reply ended too soon"
    injected = time.perf_counter()
    player = card.paplay(voice, card.mic)
    t_int, _ = events.wait(lambda e: isinstance(e, Interrupted), 30)
    player.wait(30)
    assert live.barge_ins, "interrupted, but not by the echo gate"
    fired = live.barge_ins[0]
    time.sleep(0.5)
    silent = tap.last_loud(before=fired + 0.45)  # (a reply to the person may follow later)
    assert silent is not None and silent > start
    if live.cancelling:
        heard = _arrival(live, voice, injected)
    else:  # when the voice reached the microphone: its level jumps above what was there before
        levels = [(t, e.peak) for t, e in list(events.items)
                  if type(e).__name__ == "AudioLevel" and e.source == "person"]
        before = max([p for t, p in levels if start <= t < injected] or [0.0])
        heard = next(t for t, p in levels if t >= injected and p > 2 * before + 0.02)
    holds = [t for t in live.holds if t >= injected]
    return {"voice_at_mic_after_injection": heard - injected, "gate_after_voice": fired - heard,
            "hold_after_voice": holds[0] - heard if holds else None,
            "speaker_silent_after_gate": silent - fired, "voice_to_silence": silent - heard,
            "interrupted_event_after_gate": t_int - fired}


def test_speaking_over_the_character_interrupts_it(card, tap, demo_models, ava, speech_files,
                                                   tmp_path):
    events = Events()
    script = f"[S1] {LONG_REPLY}\n[S1] Sorry, go on."
    live = _live(demo_models, ava, tmp_path / "rec", events, script, 400)
    try:
        live.say(LONG_REPLY)  # the character starts talking on its own
        delays = _interrupt_while_speaking(card, tap, events, live, speech_files[1])
        print(f"\nbarge-in delays (s): {delays}")
        events.wait(lambda e: isinstance(e, PersonWords), 60)
        time.sleep(0.3)
    finally:
        live.stop()
    # the speaker stays silent from the cut until a reply to the person's turn begins (if any)
    cut_at = live.barge_ins[0]
    later = [t for t, e in events.items if t > cut_at and isinstance(e, StateChanged)
             and e.state == State.THINKING]
    quiet = tap.audio(since=cut_at + 0.3, until=min(later, default=float("inf")))
    assert len(quiet) > RATE // 10 and np.abs(quiet).max() <= LOUD
    assert delays["speaker_silent_after_gate"] < 1.0  # generous; the bound is 0.1 s
    cut = events.of(Interrupted)[0]
    data = _check_recording(tmp_path / "rec")
    first = data["turns"][0]
    assert first["speaker"] == "character" and first["interrupted"]
    assert len(first["words"]) == cut.words_kept < len(LONG_REPLY.split())
    # every word kept was heard: it starts before the cut
    assert all(w["start"] < first["start"] + cut.heard_s for w in first["words"])
    assert any(t["speaker"] == "person" for t in data["turns"][1:])


def test_the_characters_echo_does_not_interrupt_but_a_louder_person_does(
        card, tap, demo_models, ava, loud_speech, tmp_path):
    events = Events()
    live = _live(demo_models, ava, tmp_path / "rec", events, "[S1] Yes?", 60)
    loop = card.loopback(f"{card.spk}.monitor", card.mic, latency_ms=40)
    try:
        # the character's whole reply comes back into the microphone: no interruption
        live.say("Let me tell you about the river, the bridge and the little cafe beside it.")
        tap.first_loud(timeout=120)
        events.reply_done(120)
        time.sleep(0.8)  # the echo's tail and the end-of-turn silence
        assert not events.of(Interrupted) and not live.barge_ins
        print(f"\nplayback holds caused by the echo alone: {len(live.holds)}")
        assert not events.of(PersonWords)  # what the microphone heard was dropped as echo
        assert live.cancelling  # the default: WebRTC's canceller cleans the microphone
        mic, _ = sf.read(str(tmp_path / "rec" / "microphone.wav"), dtype="float32")
        assert np.abs(mic).max() > 0.05  # the echo did reach the microphone
        clean, _ = sf.read(str(tmp_path / "rec" / "person.wav"), dtype="float32")
        n = min(len(mic), len(clean))
        erle = 10 * np.log10(np.sum(mic[:n] ** 2) / (np.sum(clean[:n] ** 2) + 1e-20))
        print(f"echo removed from the recorded microphone over the whole reply: {erle:.1f} dB")
        assert erle > 10
        # the same echo path, and the person speaking louder on top: interrupted
        mark = len(events)
        live.say(LONG_REPLY)
        events.wait(lambda e: isinstance(e, StateChanged) and e.state == State.SPEAKING
                    and events._index(e) >= mark, 120)
        delays = _interrupt_while_speaking(card, tap, events, live, loud_speech[0],
                                           spoken_after=1.2)
        print(f"\nbarge-in over the echo, delays (s): {delays}; echo delay "
              f"{live._gate.delay_s * 1000:.0f} ms, gain {live._gate.echo_gain_db:.1f} dB")
    finally:
        card.unload(loop)
        live.stop()
    cut = events.of(Interrupted)[0]
    long_turn = next(e.turn for e in events.of(TurnAdded) if e.turn.index == cut.turn)
    assert long_turn.speaker == 1 and long_turn.interrupted
    # (the person's file goes on after the cut, so it may also cut the answer to its turn)


class RoomLoop:
    """A reverberant echo path: the `spk` monitor through a simulated room into the `mic` sink
    (capture -> `StreamingRoom` -> playback, in this process)."""

    def __init__(self, card, monkeypatch, room) -> None:
        from app.audio.capture import Capture, CaptureConfig
        from app.audio.playback import Playback, PlaybackConfig
        from app.bench.room import StreamingRoom

        self.room = StreamingRoom(room, seed=7)
        monkeypatch.setenv("PULSE_SINK", card.mic)
        monkeypatch.setenv("PULSE_SOURCE", f"{card.spk}.monitor")
        try:
            self.out = Playback(PlaybackConfig(device=PORTAUDIO_DEVICE)).start()
            self.capture = Capture(CaptureConfig(device=PORTAUDIO_DEVICE, samplerate=RATE),
                                   on_chunk=self._on_chunk).start()
        finally:
            card.route(monkeypatch, sink=card.spk, source=f"{card.mic}.monitor")

    def _on_chunk(self, chunk) -> None:
        self.out.write(self.room.process(chunk.samples))

    def stop(self) -> None:
        self.capture.stop()
        self.out.stop()


def test_a_reverberant_echo_is_cancelled_and_a_quieter_person_still_interrupts(
        card, tap, demo_models, ava, speech_files, monkeypatch, tmp_path):
    from app.audio.files import read_audio, write_audio
    from app.bench.room import ROOMS

    events = Events()
    live = _live(demo_models, ava, tmp_path / "rec", events, "[S1] Yes?", 60)
    assert live.cancelling  # the default: WebRTC's canceller on the microphone
    loop = RoomLoop(card, monkeypatch, ROOMS["reverberant"])
    try:
        # the character's reply comes back through a reverberant room: no interruption
        live.say("Let me tell you about the river, the bridge and the little cafe beside it.")
        start = tap.first_loud(timeout=120)
        events.reply_done(120)
        end = time.perf_counter()
        time.sleep(1.0)  # the reverberation's tail and the end-of-turn silence
        assert not events.of(Interrupted) and not live.barge_ins
        assert not events.of(PersonWords)  # nothing of the echo was taken for the person
        # the raw microphone heard the echo; the cleaned track (what the recogniser gets) not
        raw, _ = sf.read(str(tmp_path / "rec" / "microphone.wav"), dtype="float32")
        clean, _ = sf.read(str(tmp_path / "rec" / "person.wav"), dtype="float32")
        t0 = live.timeline_now() - (time.perf_counter() - start) + 1.0  # converged by then
        t1 = live.timeline_now() - (time.perf_counter() - end)
        a, b = int(t0 * RATE), min(int(t1 * RATE), len(raw), len(clean))
        assert b - a > RATE, "the reply was too short to measure"
        echo_rms = float(np.sqrt(np.mean(raw[a:b] ** 2)))
        erle = 10 * np.log10(np.mean(raw[a:b] ** 2) / (np.mean(clean[a:b] ** 2) + 1e-20))
        print(f"\nreverberant room on the virtual card: echo {20 * np.log10(echo_rms):.1f} dBFS "
              f"at the microphone, {erle:.1f} dB removed; holds: {len(live.holds)}")
        assert echo_rms > 0.005 and erle > 10
        # the person, 6 dB quieter than that echo, speaks over the next reply: interrupted
        voice, _ = read_audio(speech_files[1], RATE)
        k = len(voice) // 480
        frames = voice[: k * 480].reshape(k, 480)
        e = np.mean(frames**2, axis=1)
        active = float(np.sqrt(np.mean(e[e > e.max() * 1e-3])))
        quiet = write_audio(tmp_path / "quiet.wav", voice * (echo_rms * 10 ** (-6 / 20) / active),
                            RATE, subtype="FLOAT")
        mark = len(events)
        live.say(LONG_REPLY)
        events.wait(lambda e: isinstance(e, StateChanged) and e.state == State.SPEAKING
                    and events._index(e) >= mark, 120)
        delays = _interrupt_while_speaking(card, tap, events, live, quiet, spoken_after=1.5)
        print(f"barge-in of a person 6 dB under a reverberant echo, delays (s): {delays}")
        assert delays["speaker_silent_after_gate"] < 1.0  # as above: generous
    finally:
        loop.stop()
        live.stop()
    cut = events.of(Interrupted)[0]
    long_turn = next(e.turn for e in events.of(TurnAdded) if e.turn.index == cut.turn)
    assert long_turn.speaker == 1 and long_turn.interrupted


def test_the_terminal_chat_end_to_end(card, demo_models, demo_root, speech_files, tmp_path):
    out = tmp_path / "chat"
    script = tmp_path / "script.txt"
    script.write_text("[S2] Hello.\n[S1] Hello to you, nice to hear you.\n", encoding="utf-8")
    env = dict(os.environ, DIA2CHAT_DEMO_DIR=str(demo_root), OMP_NUM_THREADS="1",
               PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "main.py"), "chat", "--demo", "--character", "ava",
         "--brain", "script", "--script", str(script), "--max-frames", "30", "--out", str(out),
         "--input", PORTAUDIO_DEVICE, "--output", PORTAUDIO_DEVICE, "--json"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines: list[dict] = []
    err: list[str] = []
    readers = [threading.Thread(target=lambda: lines.extend(json.loads(x) for x in proc.stdout
                                                            if x.startswith("{")), daemon=True),
               threading.Thread(target=lambda: err.extend(proc.stderr), daemon=True)]
    for r in readers:
        r.start()

    def wait_for(pred, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(pred(d) for d in list(lines)):
                return
            assert proc.poll() is None, "".join(err)
            time.sleep(0.05)
        raise AssertionError(f"timed out; stderr: {''.join(err)[-2000:]}")

    try:
        # the greeting is said first, then the chat listens
        wait_for(lambda d: d.get("event") == "turn" and d["speaker"] == "character", 120)
        wait_for(lambda d: d.get("event") == "state" and d["state"] == "listening"
                 and d["previous"] == "speaking", 60)
        _play(card, speech_files[0])
        wait_for(lambda d: d.get("event") == "person_words", 60)
        wait_for(lambda d: d.get("event") == "turn" and d["speaker"] == "character"
                 and d["index"] > 1, 120)
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=60) == 0, "".join(err)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    for r in readers:
        r.join(5)
    assert f"recorded {out}" in "".join(err)
    data = _check_recording(out)
    assert [t["speaker"] for t in data["turns"]] == ["character", "person", "character"]
