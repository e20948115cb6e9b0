"""The settings dialog (pytest-qt, offscreen): editing, OK and Cancel, URL validation, and the
connection test against a real chat server on 127.0.0.1 (and a closed port)."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QDialog

from app.settings import AppSettings, load_settings
from tests.brains.chat_server import ChatServer, free_port


@pytest.fixture
def config_dir(tmp_path, monkeypatch):
    folder = tmp_path / "config"
    monkeypatch.setenv("DIA2CHAT_CONFIG_DIR", str(folder))
    return folder


@pytest.fixture
def make_dialog(qtbot, config_dir):
    from app.ui.settings_dialog import SettingsDialog

    made = []

    def make(settings: AppSettings, **kw) -> SettingsDialog:
        dialog = SettingsDialog(settings, **kw)
        qtbot.addWidget(dialog)
        made.append(dialog)
        return dialog

    yield make
    for dialog in made:
        dialog.probe.close()


def _select(box, value) -> None:
    i = box.findData(value)
    assert i >= 0, value
    box.setCurrentIndex(i)


def test_shows_the_given_settings(make_dialog):
    s = AppSettings(model="/data/my-dia2", brain="openai", llm_url="http://10.0.0.2:8080/v1",
                    hands_free=False, vad_threshold=0.3, top_k=33, theme="dark", device="cpu",
                    echo_canceller="spectral", noise_suppression=False)
    d = make_dialog(s)
    assert d.echo_box.currentData() == "spectral" and not d.noise_box.isChecked()
    assert d.model_box.currentData() == "folder" and d.model_folder.text() == "/data/my-dia2"
    assert d.url_edit.text() == "http://10.0.0.2:8080/v1"
    assert d.push_radio.isChecked() and d.sensitivity.value() == 70
    assert d.topk_check.isChecked() and d.topk_spin.value() == 33
    assert not d.cfg_check.isChecked() and not d.cfg_spin.isEnabled()
    assert d.theme_box.currentData() == "dark" and d.device_box.currentData() == "cpu"
    assert d.settings() == s  # nothing edited: the same settings come back


def _cache_repo(cache, repo_id: str, files: dict[str, bytes]) -> None:
    """A repository in the Hugging Face cache layout (blobs, a snapshot of links, refs/main)."""
    import hashlib

    root = cache / ("models--" + repo_id.replace("/", "--"))
    commit = "0123456789abcdef0123456789abcdef01234567"
    snap = root / "snapshots" / commit
    (root / "blobs").mkdir(parents=True)
    snap.mkdir(parents=True)
    (root / "refs").mkdir()
    (root / "refs" / "main").write_text(commit)
    for name, data in files.items():
        blob = root / "blobs" / hashlib.sha256(data).hexdigest()
        blob.write_bytes(data)
        (snap / name).symlink_to(blob)


def test_model_sizes_come_from_the_cache(make_dialog, tmp_path, qtbot):
    cache = tmp_path / "hf"
    _cache_repo(cache, "nari-labs/Dia2-1B", {"config.json": b"{}", "tokenizer.json": b"{}",
                                              "model.safetensors": bytes(3_000_000)})
    _cache_repo(cache, "nari-labs/Dia2-2B", {"config.json": b"{}"})  # weights missing
    d = make_dialog(AppSettings(models_folder=str(cache), model="nari-labs/Dia2-1B"))
    texts = [d.model_box.itemText(i) for i in range(d.model_box.count())]
    assert "Dia2 1B (nari-labs/Dia2-1B) — checking…" in texts  # the worker reads the cache
    qtbot.waitUntil(lambda: "checking" not in d.model_box.itemText(1), timeout=10000)
    texts = [d.model_box.itemText(i) for i in range(d.model_box.count())]
    assert "Dia2 1B (nari-labs/Dia2-1B) — 3 MB downloaded" in texts
    assert "Dia2 2B (nari-labs/Dia2-2B) — partly downloaded (0 MB)" in texts
    assert d.model_box.currentData() == "nari-labs/Dia2-1B"
    # another (empty) models folder: nothing downloaded there
    d.models_folder_edit.setText(str(tmp_path / "empty"))
    d.models_folder_edit.editingFinished.emit()
    qtbot.waitUntil(lambda: "checking" not in d.model_box.itemText(1), timeout=10000)
    texts = [d.model_box.itemText(i) for i in range(d.model_box.count())]
    assert "Dia2 1B (nari-labs/Dia2-1B) — not downloaded" in texts
    assert "Dia2 2B (nari-labs/Dia2-2B) — not downloaded" in texts
    assert d.model_box.currentData() == "nari-labs/Dia2-1B"


def test_edit_then_ok_returns_and_saves(make_dialog, config_dir, qtbot):
    original = AppSettings(character="milo", input_device="pulse", window_geometry="abc")
    d = make_dialog(original, save=True)
    _select(d.model_box, "nari-labs/Dia2-1B")
    d.demo_box.setChecked(True)
    _select(d.precision_box, "float32")
    d.asr_box.setCurrentText("tiny.en")
    _select(d.brain_box, "openai")
    d.url_edit.setText("http://127.0.0.1:9/v1")
    d.llm_model_edit.setText("llama3.2")
    d.push_radio.setChecked(True)
    d.noise_box.setChecked(False)
    d.headphones_box.setChecked(True)
    assert not d.echo_box.isEnabled()  # headphones: no echo canceller to choose
    d.sensitivity.setValue(80)
    d.cfg_check.setChecked(True)
    d.cfg_spin.setValue(3.5)
    _select(d.theme_box, "light")
    d.show()
    qtbot.waitExposed(d)
    assert d.ok_button.isEnabled()
    d.ok_button.click()
    assert d.result() == QDialog.DialogCode.Accepted
    want = AppSettings(
        character="milo", input_device="pulse", window_geometry="abc",  # passed through
        model="nari-labs/Dia2-1B", demo=True, precision="float32", asr_model="tiny.en",
        brain="openai", llm_url="http://127.0.0.1:9/v1", llm_model="llama3.2",
        hands_free=False, headphones=True, vad_threshold=0.2, cfg_scale=3.5, theme="light",
        noise_suppression=False,
    )
    assert d.settings() == want
    assert load_settings() == want  # written to DIA2CHAT_CONFIG_DIR/settings.toml
    assert original.theme == "system"  # the given object is untouched


def test_cancel_discards(make_dialog, config_dir):
    d = make_dialog(AppSettings(), save=True)
    _select(d.theme_box, "dark")
    d.reject()
    assert d.result() == QDialog.DialogCode.Rejected
    assert not (config_dir / "settings.toml").exists()


def test_bad_url_shows_a_message_and_disables_ok(make_dialog):
    d = make_dialog(AppSettings(brain="openai"))
    assert d.ok_button.isEnabled() and d.url_error.isHidden()
    for bad in ("localhost:11434", "ftp://host/v1", "http://", "http://host:99999/v1"):
        d.url_edit.setText(bad)
        assert not d.ok_button.isEnabled(), bad
        assert not d.url_error.isHidden() and d.url_error.text(), bad
        assert not d.test_button.isEnabled()
    d.url_edit.setText("https://api.example.com/v1")
    assert d.ok_button.isEnabled() and d.url_error.isHidden()
    d.url_edit.setText("")  # empty: the default server
    assert d.ok_button.isEnabled()


def test_folder_model_needs_a_folder(make_dialog):
    d = make_dialog(AppSettings())
    _select(d.model_box, "folder")
    assert not d.ok_button.isEnabled()
    d.model_folder.setText("/data/dia2")
    assert d.ok_button.isEnabled()
    assert d.settings().model == "/data/dia2"


def test_connection_test_against_a_real_server(make_dialog, qtbot):
    with ChatServer() as server:
        d = make_dialog(AppSettings(brain="openai", llm_url=server.base_url, llm_model="good"))
        with qtbot.waitSignal(d.probe.finished, timeout=20000):
            d.test_button.click()
        assert d.test_ok is True
        assert "'good' is available" in d.test_result.text()
        # a model the server lacks: connected, but not ok, and it names what is offered
        d.llm_model_edit.setText("mistral")
        with qtbot.waitSignal(d.probe.finished, timeout=20000):
            d.test_button.click()
        assert d.test_ok is False and "llama3.2:latest" in d.test_result.text()


def test_connection_test_against_a_closed_port(make_dialog, qtbot):
    d = make_dialog(AppSettings(brain="openai", llm_url=f"http://127.0.0.1:{free_port()}/v1"))
    with qtbot.waitSignal(d.probe.finished, timeout=20000):
        d.test_button.click()
    assert d.test_ok is False
    assert "nothing is listening" in d.test_result.text()
    assert d.test_button.isEnabled()  # ready for another try
