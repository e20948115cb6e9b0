"""A screenshot of the window in the middle of a demo conversation (docs/window.png is one).

Taken while the character's reply to a spoken turn is being heard, so the picture shows both
sides, the words lit so far and the waveform. The models are `--demo`'s: the person's words are
recognised by the real Whisper base and the reply is written by the real SmolLM2-135M-Instruct;
only the voice (Dia2 and Mimi) is a random-weight stand-in. Written to $DIA2CHAT_SCREENSHOT when set
(CI runs this under Xvfb with the xcb platform), else to the test's temporary folder.
"""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtGui import QImage

from tests.audio.pulse import PORTAUDIO_DEVICE
from tests.ui.test_window import _window


def _factory(models, max_frames: int):
    """Sessions with the demo models loaded once; the brain is the demo's own (SmolLM2)."""
    from dataclasses import replace

    from app.conversation.live import LiveSession

    def make(character, opts, config, **kw):
        kw["models"] = models
        return LiveSession(character, opts, replace(config, max_frames=max_frames, greeting=False),
                           **kw)

    return make


def test_screenshot_mid_conversation(qtbot, app_dirs, sound, demo_models, speech_files, tmp_path):
    from app.brains.local_llm import TransformersBrain
    from app.settings import AppSettings

    settings = AppSettings(input_device=PORTAUDIO_DEVICE, output_device=PORTAUDIO_DEVICE)
    w = _window(qtbot, settings, _factory(demo_models, max_frames=200))
    w.resize(1000, 680)
    # the first start of a run prepares SmolLM2 from its GGUF file (about a minute, once)
    with qtbot.waitSignal(w.worker.sessionStarted, timeout=600000):
        w.start_session()
    sound.paplay(speech_files[0], sound.mic).wait(30)
    qtbot.waitUntil(lambda: any(r.heard_count() >= 6 for r in w.view.replies.values()),
                    timeout=300000)
    qtbot.wait(200)
    out = Path(os.environ.get("DIA2CHAT_SCREENSHOT") or tmp_path / "window.png")
    out.parent.mkdir(parents=True, exist_ok=True)
    assert w.grab().save(str(out))
    image = QImage(str(out))
    assert image.width() >= 1000 and image.height() >= 680
    assert w.badge.text == "Speaking"
    live = w.worker.live
    assert isinstance(live.session.brain, TransformersBrain)
    assert live.session.brain.config.model.endswith(".gguf")  # the real SmolLM2
    person = next(b for b in w.view.bubbles() if not b.character)
    assert len(person.words) >= 5  # real recognised words
    w.close()
