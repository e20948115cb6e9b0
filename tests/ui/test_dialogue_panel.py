"""The window's dialogue panel, offscreen: paste a script, pick a voice, render with progress on
the worker thread, listen through the virtual sound card, export the files."""

from __future__ import annotations

import json
import time

from app.dialogue.script import parse_dialogue
from tests.audio.pulse import PORTAUDIO_DEVICE

SCRIPT = ("[S1] Hello and welcome to the show! [S2] Thanks for having me. "
          '<break time="0.4s"/> [S1] So, tell us how it all started.')


def test_panel_renders_listens_and_exports(qtbot, app_dirs, sound, demo_root, speech_files,
                                           tmp_path):
    from app.assets.choice import TtsChoice
    from app.ui.dialogue_panel import DialoguePanel

    panel = DialoguePanel(TtsChoice(demo=True, device="cpu"), None, PORTAUDIO_DEVICE,
                          folder=tmp_path / "dialogues")
    qtbot.addWidget(panel)
    panel.show()
    assert not panel.render_button.isEnabled()  # nothing to render yet
    panel.editor.setPlainText("[S1] Hello. [S2]")
    assert "Not ready" in panel.script_label.text() and "no words" in panel.script_label.text()
    panel.editor.setPlainText(SCRIPT)
    assert panel.script_label.text() == "3 turns, 17 words"
    panel.set_voice(2, speech_files[0])  # its words come from the (demo) recogniser
    panel.out_edit.setText(str(tmp_path / "out" / "show.wav"))
    panel.seed_box.setValue(7)

    seen = []
    panel.renderer.progress.connect(lambda p: seen.append(p))
    with qtbot.waitSignal(panel.renderer.finished, timeout=600_000):
        panel.render_button.click()
        assert panel.rendering and not panel.render_button.isEnabled()
        assert panel.cancel_button.isEnabled()
    assert seen and seen[-1].words_done == 17 and seen[-1].fraction == 1.0
    assert any(p.seconds_left is not None for p in seen)
    assert panel.status.text().startswith("Done:")
    assert panel.listen_button.isEnabled() and panel.export_button.isEnabled()
    result = panel.result
    data = json.loads(result.paths.transcript.read_text())
    said = [w["word"] for t in data["turns"] for w in t["words"]]
    assert said == [w.text for w in parse_dialogue(SCRIPT).words]
    assert data["seed"] == 7 and data["generations"][0]["conditioned_on"] == ["voice S2"]

    # listen: the mix plays to the end through the (virtual) speaker
    t0 = time.monotonic()
    with qtbot.waitSignal(panel.playFinished, timeout=120_000) as played:
        panel.listen_button.click()
        assert panel.listen_button.text() == "Stop"
    assert played.args[1] == ""
    assert time.monotonic() - t0 >= 0.8 * result.seconds
    assert panel.listen_button.text() == "Listen"

    with qtbot.waitSignal(panel.exported, timeout=30000) as done:  # copied on the worker
        panel.export_to(tmp_path / "exported")
    copies = done.args[0]
    assert panel.status.text() == f"Exported 6 files to {tmp_path / 'exported'}"
    assert sorted(p.name for p in copies) == sorted(
        ["show.wav", "show.S1.wav", "show.S2.wav", "show.transcript.json", "show.srt", "show.vtt"])
    assert all(c.read_bytes() == (result.paths.mix.parent / c.name).read_bytes() for c in copies)
    panel.close()


def test_window_opens_the_panel_and_closes_it_with_itself(qtbot, app_dirs, demo_root):
    from app.settings import AppSettings
    from app.ui.main_window import MainWindow

    w = MainWindow(AppSettings(), demo=True, save=False)
    qtbot.addWidget(w)
    w.show()
    w.act_dialogue.trigger()
    panel = w.dialogue_panel
    assert panel.isVisible() and panel.tts.demo
    w.act_dialogue.trigger()
    assert w.dialogue_panel is panel  # one panel while it is open
    thread = panel.renderer._thread
    w.close()
    assert not panel.isVisible() and not thread.isRunning()


def test_a_voice_recorded_in_the_panel_is_saved_as_a_file(qtbot, app_dirs, tmp_path):
    """The panel's Record… dialog (the character voice dialog, saving to a file): here the
    sample is imported rather than recorded, then saved and used for [S1]."""
    import soundfile as sf

    from app.assets.choice import TtsChoice
    from app.ui.dialogue_panel import DialoguePanel, RecordVoiceDialog
    from tests.audio.speech import speech_files

    longest = max(speech_files(tmp_path), key=lambda p: sf.info(str(p)).duration)
    panel = DialoguePanel(TtsChoice(demo=True, device="cpu"), folder=tmp_path / "dialogues")
    qtbot.addWidget(panel)
    dialog = RecordVoiceDialog(1, panel.folder / "voices", None, None, parent=panel)
    qtbot.addWidget(dialog)
    assert dialog.windowTitle() == "Voice for [S1]"
    dialog.import_file(str(longest))
    qtbot.waitUntil(lambda: dialog.save_button.isEnabled(), timeout=10000)
    with qtbot.waitSignal(dialog.accepted, timeout=10000):  # written on the worker
        dialog.save()
    assert dialog.result() == dialog.DialogCode.Accepted
    saved = dialog.saved
    assert saved.parent == tmp_path / "dialogues" / "voices" and saved.name.startswith("S1-")
    audio, rate = sf.read(str(saved), dtype="float32")
    assert rate == 24000 and len(audio) > 24000
    panel.set_voice(1, saved)
    assert panel.voices == {1: saved} and str(saved) in panel.voice_labels[1].text()
    panel.close()
