"""The window driven through the real pipeline on the virtual sound card, with the demo models:
a spoken turn fills the conversation view, the waveform and the state; push-to-talk and stop
work; settings persist across a restart; problems appear in the window."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from app.conversation.events import (
    Hearing,
    Interrupted,
    PersonWords,
    ReplyWord,
    State,
    StateChanged,
)
from tests.audio.pulse import PORTAUDIO_DEVICE

ROOT = Path(__file__).resolve().parents[2]


def _factory(models, brain_text: str, max_frames: int = 40):
    """Sessions with the demo models loaded once, a scripted brain and short replies."""
    from app.brains.script import ScriptBrain
    from app.conversation.live import LiveSession

    def make(character, opts, config, **kw):
        kw["models"] = models
        return LiveSession(character, opts, replace(config, max_frames=max_frames, greeting=False),
                           brain=ScriptBrain.from_text(brain_text), **kw)

    return make


def _window(qtbot, settings, factory=None, save=True):
    from app.ui.main_window import MainWindow

    w = MainWindow(settings, demo=True, save=save, session_factory=factory)
    qtbot.addWidget(w)
    w.show()
    return w


def _events(window):
    seen = []
    window.worker.eventReceived.connect(seen.append)
    return seen


def test_window_opens_without_a_session(qtbot, app_dirs):
    from app.settings import AppSettings
    from app.ui.about import about_html

    w = _window(qtbot, AppSettings(), save=False)
    assert "demo" in w.windowTitle()
    assert w.character_box.count() >= 3  # the shipped characters
    assert w.badge.text == "Starting…"
    shortcuts = {a.shortcut().toString() for a in w.actions()}
    assert {"Ctrl+N", "Ctrl+M", "Ctrl+H", "Esc", "Ctrl+,", "Ctrl+D", "Ctrl+E"} <= shortcuts
    assert "Apache-2.0" in about_html() and "CC-BY-4.0" in about_html()


def test_a_demo_turn_through_the_real_pipeline(qtbot, app_dirs, sound, demo_models, speech_files):
    from app.settings import AppSettings
    from app.ui.loop_monitor import LoopMonitor

    settings = AppSettings(input_device=PORTAUDIO_DEVICE, output_device=PORTAUDIO_DEVICE)
    w = _window(qtbot, settings, _factory(demo_models, "[S1] Well hello to you too, friend."))
    seen = _events(w)
    monitor = LoopMonitor()
    with qtbot.waitSignal(w.worker.sessionStarted, timeout=60000):
        w.start_session()
    assert w.badge.text == "Listening"
    monitor.start()
    player = sound.paplay(speech_files[0], sound.mic)
    qtbot.waitUntil(lambda: any(isinstance(e, Hearing) and e.active for e in seen), timeout=30000)
    qtbot.waitUntil(lambda: any(isinstance(e, StateChanged) and e.state == State.SPEAKING
                                for e in seen), timeout=120000)
    player.wait(30)
    qtbot.waitUntil(lambda: any(isinstance(e, StateChanged) and e.state == State.LISTENING
                                and e.previous == State.SPEAKING for e in seen), timeout=120000)
    qtbot.wait(300)
    monitor.stop()
    print(f"event loop: worst delay {monitor.worst_ms:.1f} ms, mean {monitor.mean_ms:.2f} ms "
          f"over {monitor.samples} ticks")
    # the conversation view: the person's recognised turn, then the reply, lit as heard
    bubbles = w.view.bubbles()
    assert len(bubbles) >= 2
    person = next(b for b in bubbles if not b.character)
    reply = next(b for b in bubbles if b.character)
    assert person.words and [e for e in seen if isinstance(e, PersonWords)]
    # every word Dia2 placed is shown and, once heard, lit (the random demo Dia2 may place few)
    placed = [e.word for e in seen if isinstance(e, ReplyWord)]
    assert reply.final and reply.start is not None
    assert [w.text for w in reply.words] == placed and reply.heard_count() == len(placed)
    # the waveform's data: the microphone heard speech, the speaker played the reply
    now = w.worker.timeline_now()
    assert w.tape.window("person", 0, int(now / 0.02)).max() > 0.05
    assert w.tape.window("character", 0, int(now / 0.02)).max() > 0.01
    assert w.latency.text().startswith("last turn:")
    assert w.clock.text() != "0:00" or now < 1
    folder = Path(w.folder)
    w.close()
    transcript = json.loads((folder / "transcript.json").read_text())
    assert [t["speaker"] for t in transcript["turns"]][-2:] == ["person", "character"]
    # File > Export re-renders the finished session (off the GUI thread)
    (folder / "mix.wav").unlink()
    with qtbot.waitSignal(w.exportDone, timeout=60000) as done:
        w.run_export(str(folder))
    assert done.args[0].startswith("Exported 2 turns") and (folder / "mix.wav").is_file()


def test_push_to_talk_and_stop(qtbot, app_dirs, sound, demo_models, speech_files):
    from app.settings import AppSettings

    settings = AppSettings(input_device=PORTAUDIO_DEVICE, output_device=PORTAUDIO_DEVICE,
                           hands_free=False)
    long_reply = "[S1] " + " ".join(["this is a rather long answer that goes on"] * 6)
    w = _window(qtbot, settings, _factory(demo_models, long_reply, max_frames=400))
    seen = _events(w)
    with qtbot.waitSignal(w.worker.sessionStarted, timeout=60000):
        w.start_session()
    # push-to-talk: speech while the key is up is ignored; while held it is a turn
    player = sound.paplay(speech_files[0], sound.mic)
    player.wait(30)
    qtbot.wait(800)
    assert not [e for e in seen if isinstance(e, PersonWords)]
    w.press_to_talk()
    assert w.badge.text == "Hearing you"
    player = sound.paplay(speech_files[0], sound.mic)
    player.wait(30)
    qtbot.wait(300)
    w.release_to_talk()
    qtbot.waitUntil(lambda: any(isinstance(e, PersonWords) for e in seen), timeout=60000)
    qtbot.waitUntil(lambda: w.badge.text == "Speaking", timeout=120000)
    qtbot.waitUntil(lambda: any(r.heard_count() > 0 for r in w.view.replies.values()), timeout=60000)
    w.act_stop.trigger()  # Esc
    qtbot.waitUntil(lambda: any(isinstance(e, Interrupted) for e in seen), timeout=10000)
    qtbot.waitUntil(lambda: w.badge.text == "Interrupted", timeout=10000)
    reply = next(iter(w.view.replies.values()))
    qtbot.waitUntil(lambda: reply.final, timeout=10000)
    assert reply.interrupted
    w.close()


def test_settings_persist_across_a_restart(qtbot, app_dirs):
    from app.settings import AppSettings, load_settings

    w = _window(qtbot, AppSettings())
    w.act_hands.setChecked(False)
    w.character_box.setCurrentIndex(w.character_box.findData("milo"))
    w.worker.request_stop.emit()
    w.resize(777, 555)
    w.close()
    s = load_settings()
    assert s.hands_free is False and s.character == "milo" and s.window_geometry
    w2 = _window(qtbot, s)
    assert w2.act_hands.isChecked() is False
    assert w2.character_box.currentData() == "milo"
    assert w2.width() == 777
    w2.close()


def test_a_missing_microphone_is_shown_with_what_to_do(qtbot, app_dirs, sound, demo_models):
    from app.settings import AppSettings

    settings = AppSettings(input_device="no such microphone", output_device=PORTAUDIO_DEVICE)
    w = _window(qtbot, settings, _factory(demo_models, "[S1] Hi."))
    with qtbot.waitSignal(w.worker.sessionFailed, timeout=60000) as failed:
        w.start_session()
    assert "no such microphone" in failed.args[0]
    assert w.banner.isVisible() and "no such microphone" in w.banner.text
    assert not w.worker.running and w.badge.text == "Stopped"
    w.close()


def test_a_broken_character_is_shown(qtbot, app_dirs):
    from app.settings import AppSettings

    chars = app_dirs / "characters"
    chars.mkdir()
    (chars / "broken.toml").write_text("name = [unclosed\n")
    w = _window(qtbot, AppSettings(character="broken"), save=False)
    w.start_session()
    assert w.banner.isVisible() and "broken" in w.banner.text


def test_no_qt_in_the_engine_packages():
    for pkg in ("tts", "codec", "asr", "audio", "brains", "conversation", "assets", "dialogue"):
        for path in (ROOT / "app" / pkg).rglob("*.py"):
            text = path.read_text()
            assert "PySide6" not in text, f"{path} imports Qt"
    for path in [*(ROOT / "app" / "ui").rglob("*.py"), *(ROOT / "app" / "workers").rglob("*.py")]:
        assert "import torch" not in path.read_text(), f"{path} touches torch"


def test_bench_window_measures_a_spoken_reply(qtbot, app_dirs, sound):
    from app.bench.window import bench_window

    b = bench_window(PORTAUDIO_DEVICE, PORTAUDIO_DEVICE)
    assert b.ticks > 0 and b.seconds > 0 and b.paints > 0
    assert b.worst_ms >= b.mean_ms >= 0


def test_main_without_a_command_opens_the_window(qtbot, app_dirs, monkeypatch):
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from app.cli import main
    from app.ui.main_window import MainWindow

    opened = []

    def close_it() -> None:
        windows = [w for w in QApplication.topLevelWidgets()
                   if isinstance(w, MainWindow) and w.isVisible()]
        opened.extend(w.windowTitle() for w in windows)
        for w in windows:
            w.close()

    QTimer.singleShot(1500, close_it)
    assert main(["--demo", "--character", "milo"]) == 0
    assert opened == ["Dia2 Voice Chat (demo models)"]


def test_an_unexpected_error_on_a_thread_is_shown_not_fatal(qtbot, app_dirs, monkeypatch):
    import sys
    import threading

    from app.settings import AppSettings
    from app.ui.app import _report_unexpected_errors

    monkeypatch.setattr(sys, "excepthook", sys.excepthook)
    monkeypatch.setattr(threading, "excepthook", threading.excepthook)
    w = _window(qtbot, AppSettings(), save=False)
    _report_unexpected_errors(w)

    def boom() -> None:
        raise RuntimeError("kaboom")

    t = threading.Thread(target=boom)
    t.start()
    t.join()
    qtbot.waitUntil(lambda: "kaboom" in w.banner.text, timeout=5000)
    assert w.banner.isVisible() and "Ctrl+N" in w.banner.text


def test_first_run_asks_for_exactly_the_missing_models(app_dirs, monkeypatch, demo_dia2, tmp_path):
    from app.assets import hub
    from app.assets.demo_mimi import save_demo_mimi
    from app.assets.setup import missing_models
    from app.conversation.character import find_character
    from app.conversation.options import SessionOptions
    from tests.assets.hf_server import HubServer

    dia2, asr, llm = "nari-labs/Dia2-2B", "Systran/faster-whisper-base.en", "Qwen/Qwen2.5-1.5B-Instruct"
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf"))
    ava = find_character("ava")  # replies from the local model
    opts = SessionOptions(model=dia2, asr_model="base.en", device="cpu")
    assert missing_models(opts, ava) == [dia2, hub.MIMI_REPO, asr, llm]
    assert missing_models(replace(opts, brain="openai"), ava) == [dia2, hub.MIMI_REPO, asr]
    mimi = save_demo_mimi(tmp_path / "mimi.safetensors")
    with HubServer() as srv:
        srv.add_repo(dia2, {n: (demo_dia2 / n).read_bytes()
                            for n in ("config.json", "model.safetensors", "tokenizer.json")})
        srv.add_repo(hub.MIMI_REPO, {hub.MIMI_FILE: mimi.read_bytes()})
        srv.add_repo(asr, {"model.bin": b"w" * 100, "config.json": b"{}"})
        hub.download([dia2, hub.MIMI_REPO, asr], progress=False, endpoint=srv.url)
    assert missing_models(opts, ava) == [llm]
    assert missing_models(replace(opts, brain="openai"), ava) == []
