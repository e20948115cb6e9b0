"""The window while the reply model is slow to start: the badge says "Thinking" and counts the
seconds, so it never looks frozen. The demo note appears once per window. Real parts: the
virtual sound card, the demo models (real Whisper base), and a chat server on loopback whose
first piece of text comes 2.5 s late."""

from __future__ import annotations

from dataclasses import replace

from app.conversation.events import State, StateChanged
from tests.audio.pulse import PORTAUDIO_DEVICE
from tests.brains.chat_server import ChatServer
from tests.ui.test_window import _events, _window


def test_a_slow_first_token_shows_thinking_with_seconds(qtbot, app_dirs, sound, demo_models,
                                                        speech_files):
    from app.brains.openai_compat import OpenAICompatibleBrain, OpenAICompatibleConfig
    from app.conversation.live import LiveSession
    from app.settings import AppSettings
    from app.ui.main_window import DEMO_NOTE

    with ChatServer() as server:
        def make(character, opts, config, **kw):
            brain = OpenAICompatibleBrain(OpenAICompatibleConfig(base_url=server.base_url,
                                                                 model="slow-start"))
            kw["models"] = demo_models
            return LiveSession(character, opts, replace(config, max_frames=30, greeting=False),
                               brain=brain, **kw)

        settings = AppSettings(input_device=PORTAUDIO_DEVICE, output_device=PORTAUDIO_DEVICE)
        w = _window(qtbot, settings, make)
        seen = _events(w)
        with qtbot.waitSignal(w.worker.sessionStarted, timeout=60000):
            w.start_session()
        assert w.banner.isVisible() and w.banner.text == DEMO_NOTE  # the demo says what it is
        shown: set[str] = set()
        w.badge.update = lambda *a, s=shown: s.add(w.badge.text)  # every label the badge showed
        sound.paplay(speech_files[0], sound.mic).wait(30)
        qtbot.waitUntil(lambda: any(isinstance(e, StateChanged) and e.state == State.SPEAKING
                                    for e in seen), timeout=120000)
        assert "Thinking" in shown
        assert {"Thinking… 1 s", "Thinking… 2 s"} <= shown, sorted(shown)
        qtbot.waitUntil(lambda: w.badge.text == "Listening", timeout=120000)
        # a new conversation in the same window: the note is not shown again
        with qtbot.waitSignal(w.worker.sessionStarted, timeout=60000):
            w.start_session()
        assert not w.banner.isVisible()
        w.close()
