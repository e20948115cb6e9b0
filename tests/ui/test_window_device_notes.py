"""The window says on start what doctor says about the GPU: an NVIDIA GPU that torch cannot use,
why, and what to do. The driver reading is injected (nvidia-smi's output); torch is this
machine's, which cannot use a GPU."""

from __future__ import annotations

from dataclasses import replace

from tests.audio.pulse import PORTAUDIO_DEVICE


def test_an_old_driver_is_explained_in_the_banner(qtbot, app_dirs, sound, demo_models,
                                                 monkeypatch):
    from app.brains.script import ScriptBrain
    from app.conversation.events import Error
    from app.conversation.live import LiveSession
    from app.diagnostics import gpu
    from app.settings import AppSettings
    from app.ui.main_window import MainWindow

    monkeypatch.setattr(gpu, "run_nvidia_smi", lambda: "550.54.14\n")
    # what doctor says for the same reading
    problem = gpu.gpu_problem(gpu.gpu_info())
    assert problem is not None and "too old" in problem.detail

    def make(character, opts, config, **kw):
        kw["models"] = demo_models
        return LiveSession(character, opts, replace(config, greeting=False),
                           brain=ScriptBrain.from_text("[S1] Hi."), **kw)

    settings = AppSettings(input_device=PORTAUDIO_DEVICE, output_device=PORTAUDIO_DEVICE)
    w = MainWindow(settings, demo=True, save=False, session_factory=make)
    qtbot.addWidget(w)
    seen = []
    w.worker.eventReceived.connect(seen.append)
    w.show()
    with qtbot.waitSignal(w.worker.sessionStarted, timeout=60000):
        w.start_session()
    qtbot.waitUntil(lambda: w.banner.isVisible(), timeout=10000)
    notes = [e for e in seen if isinstance(e, Error) and e.where == "device"]
    assert len(notes) == 1 and not notes[0].fatal
    assert problem.detail in notes[0].message
    text = w.banner.text
    assert "driver 550.54.14 is too old" in text and "580 or newer" in text
    assert "update the nvidia driver to 580" in text.lower()
    w.close()
