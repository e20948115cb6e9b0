"""The "Download models" dialog against a real hub-layout server (tests/assets/hf_server.py) and a
private Hugging Face cache (HF_HUB_CACHE): the plan it shows, a download to the end, a cancel in the
middle of a file then Resume, and an unreachable server."""

from __future__ import annotations

import pytest
from huggingface_hub import constants
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog

from app.assets import hub
from app.assets.fetch import format_size
from app.ui.download_dialog import DownloadDialog
from tests.assets.hf_server import HubServer
from tests.assets.test_hub import dead_endpoint, dia2_files

REPO = "nari-labs/Dia2-1B"
WAIT_MS = 60_000  # generous: the machine is shared


@pytest.fixture
def server():
    with HubServer() as s:
        yield s


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """A private HF cache through HF_HUB_CACHE, and no endpoint or offline flag from the shell."""
    for name in ("HF_ENDPOINT", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    path = tmp_path / "hf-cache"
    monkeypatch.setenv("HF_HUB_CACHE", str(path))
    return path


def publish(server, weights: bytes) -> dict[str, bytes]:
    files = dia2_files(weights)
    server.add_repo(REPO, files)
    server.add_repo(hub.MIMI_REPO, {hub.MIMI_FILE: b"m" * 40_000})
    return files


def open_dialog(qtbot, server_url: str) -> DownloadDialog:
    dialog = DownloadDialog([REPO, hub.MIMI_REPO], endpoint=server_url)
    qtbot.addWidget(dialog)
    dialog.show()
    return dialog


def cell(dialog, row, col) -> str:
    return dialog.table.item(row, col).text()


def test_shows_the_plan_then_downloads(qtbot, server, cache):
    files = publish(server, b"\x07" * 300_000)
    dialog = open_dialog(qtbot, server.url)
    qtbot.waitUntil(lambda: dialog.state == "ready", timeout=WAIT_MS)
    rows = {cell(dialog, r, 0): (cell(dialog, r, 2), cell(dialog, r, 3))
            for r in range(dialog.table.rowCount())}
    assert rows == {
        "config.json": (format_size(len(files["config.json"])), "—"),
        "model.safetensors": ("300 kB", "—"),
        "tokenizer.json": (format_size(len(files["tokenizer.json"])), "—"),
        "vocab.json": (format_size(len(files["vocab.json"])), "—"),  # every tokenizer file
        hub.MIMI_FILE: ("40.0 kB", "—"),
    }
    total = format_size(dialog.plan.total_bytes)
    assert dialog.summary.text().startswith(f"Total {total}")
    assert str(cache) in dialog.intro.text() and "offline" in dialog.intro.text()
    assert server.url in dialog.intro.text()

    qtbot.mouseClick(dialog.download_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.state == "done", timeout=WAIT_MS)
    assert dialog.bar.value() == dialog.bar.maximum()
    assert dialog.close_button.text() == "Continue" and not dialog.error.isVisible()
    assert (dialog.paths[REPO] / "model.safetensors").read_bytes() == files["model.safetensors"]
    assert dialog.paths[hub.MIMI_REPO].read_bytes() == b"m" * 40_000
    assert cache in dialog.paths[REPO].parents
    qtbot.mouseClick(dialog.close_button, Qt.MouseButton.LeftButton)
    assert dialog.result() == QDialog.DialogCode.Accepted


def test_cancel_in_the_middle_then_resume(qtbot, server, cache):
    weights = bytes(range(256)) * 1000
    files = publish(server, weights)
    server.hold_after("model.safetensors", 100_000)
    dialog = open_dialog(qtbot, server.url)
    qtbot.waitUntil(lambda: dialog.state == "ready", timeout=WAIT_MS)
    qtbot.mouseClick(dialog.download_button, Qt.MouseButton.LeftButton)
    assert server.holding.wait(WAIT_MS / 1000)
    qtbot.waitUntil(lambda: 0 < dialog.bar.value() < dialog.bar.maximum(), timeout=WAIT_MS)
    assert "MB" in dialog.status.text() or "kB" in dialog.status.text()

    qtbot.mouseClick(dialog.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.state == "cancelled", timeout=WAIT_MS)
    assert dialog.download_button.text() == "Resume" and dialog.download_button.isEnabled()
    [partial] = list(cache.rglob("*.incomplete"))
    kept = partial.stat().st_size
    assert 0 < kept <= 100_000

    server.release()
    server.requests.clear()
    qtbot.mouseClick(dialog.download_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.state == "done", timeout=WAIT_MS)
    assert (dialog.paths[REPO] / "model.safetensors").read_bytes() == weights
    for name in ("config.json", "tokenizer.json"):
        assert (dialog.paths[REPO] / name).read_bytes() == files[name]
    assert dialog.paths[hub.MIMI_REPO].read_bytes() == b"m" * 40_000
    ranges = [r.range for r in server.requests
              if r.method == "GET" and r.path.endswith("model.safetensors")]
    assert ranges == [f"bytes={kept}-"]
    assert not list(cache.rglob("*.incomplete"))


def test_unreachable_server_is_explained(qtbot, cache):
    dialog = open_dialog(qtbot, dead_endpoint())
    qtbot.waitUntil(lambda: dialog.error.isVisible(), timeout=WAIT_MS)
    text = dialog.error.text()
    assert "cannot reach" in text and "--demo" in text and "Retry" in text
    assert dialog.state == "failed" and dialog.download_button.text() == "Retry"
    qtbot.mouseClick(dialog.close_button, Qt.MouseButton.LeftButton)
    assert dialog.result() == QDialog.DialogCode.Rejected
