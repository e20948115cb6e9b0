"""Fixtures for the model-asset tests: a local hub server, a private cache, a clean environment."""

from __future__ import annotations

import pytest
from huggingface_hub import constants

from tests.assets.hf_server import HubServer


@pytest.fixture(autouse=True)
def _clean_hub_env(monkeypatch):
    """Tests choose HF_ENDPOINT / HF_HUB_OFFLINE themselves, whatever the caller's shell says."""
    for name in ("HF_ENDPOINT", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE",
                 "HF_HUB_DISABLE_PROGRESS_BARS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)


@pytest.fixture
def hub_server():
    """A running hub-layout server on 127.0.0.1 with no repositories yet."""
    with HubServer() as server:
        yield server


@pytest.fixture
def cache_dir(tmp_path):
    """An empty Hugging Face cache folder for one test."""
    path = tmp_path / "hf-cache"
    path.mkdir()
    return path
