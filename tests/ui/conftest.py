"""Fixtures for the window tests: the virtual sound card, and the app's folders in tmp."""

from __future__ import annotations

import pytest

from tests.audio.pulse import pulse_server  # noqa: F401  (fixture)


@pytest.fixture
def app_dirs(tmp_path, monkeypatch, demo_root):
    """Settings, characters and recordings in temporary folders."""
    monkeypatch.setenv("DIA2CHAT_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("DIA2CHAT_CHARACTERS_DIR", str(tmp_path / "characters"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    return tmp_path


@pytest.fixture
def sound(pulse_server, monkeypatch):  # noqa: F811
    """The virtual sound card, with new streams playing to `spk` and recording `mic.monitor`."""
    pulse_server.route(monkeypatch, sink=pulse_server.spk, source=f"{pulse_server.mic}.monitor")
    return pulse_server
