"""Fixtures for the brain tests: a real chat server on loopback and a tiny local LLM."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.brains.chat_server import ChatServer


@pytest.fixture
def chat_server() -> Iterator[ChatServer]:
    with ChatServer() as server:
        yield server


@pytest.fixture(scope="session")
def demo_llm_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from app.brains.demo_llm import build_demo_llm

    return build_demo_llm(tmp_path_factory.mktemp("demo-llm"))
