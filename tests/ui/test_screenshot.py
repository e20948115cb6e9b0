"""A screenshot of the window in the middle of a demo conversation (docs/window.png is one).

Taken while the character's reply to a spoken turn is being heard, so the picture shows both
sides, the words lit so far and the waveform. Written to $DIA2CHAT_SCREENSHOT when set
(CI runs this under Xvfb with the xcb platform), else to the test's temporary folder.
"""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtGui import QImage

from tests.audio.pulse import PORTAUDIO_DEVICE
from tests.ui.test_window import _factory, _window


def test_screenshot_mid_conversation(qtbot, app_dirs, sound, demo_models, speech_files, tmp_path):
    from app.settings import AppSettings

    settings = AppSettings(input_device=PORTAUDIO_DEVICE, output_device=PORTAUDIO_DEVICE)
    script = ("[S1] Oh hello! It is lovely to hear from you this morning. Once upon a time a "
              "little robot learned to sing in the rain, and everyone in town came out to listen.")
    w = _window(qtbot, settings, _factory(demo_models, script, max_frames=150))
    w.resize(1000, 680)
    with qtbot.waitSignal(w.worker.sessionStarted, timeout=60000):
        w.start_session()
    sound.paplay(speech_files[0], sound.mic).wait(30)
    qtbot.waitUntil(lambda: any(r.heard_count() >= 6 for r in w.view.replies.values()),
                    timeout=120000)
    qtbot.wait(200)
    out = Path(os.environ.get("DIA2CHAT_SCREENSHOT") or tmp_path / "window.png")
    out.parent.mkdir(parents=True, exist_ok=True)
    assert w.grab().save(str(out))
    image = QImage(str(out))
    assert image.width() >= 1000 and image.height() >= 680
    assert w.badge.text == "Speaking"
    w.close()
