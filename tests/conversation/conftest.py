"""Fixtures for the conversation tests (the demo models and speech come from tests/conftest.py):
the first speech file at 24 kHz, and a way to write character files."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pytest


@pytest.fixture(scope="session")
def speech24k(speech_files) -> np.ndarray:
    from app.audio.files import read_audio

    return read_audio(speech_files[0], 24000)[0]


@pytest.fixture
def write_character(tmp_path):
    """write_character(text, name="c") -> path of a TOML file with that (dedented) text."""

    def write(text: str, name: str = "c") -> Path:
        path = tmp_path / f"{name}.toml"
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return path

    return write
