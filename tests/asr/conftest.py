"""Fixtures for the recognition tests: speech recordings and the tiny demo Whisper."""

from __future__ import annotations

import pytest

from tests.audio.speech import speech_files


@pytest.fixture(scope="session")
def speech_paths(tmp_path_factory) -> list:
    """English speech recordings (shared ones, or espeak-ng made)."""
    return speech_files(tmp_path_factory.mktemp("speech"))


@pytest.fixture(scope="session")
def demo_model_dir(tmp_path_factory):
    """Folder of a freshly built tiny random-weight CTranslate2 Whisper."""
    from app.asr.demo import build_demo_whisper

    return build_demo_whisper(tmp_path_factory.mktemp("demo-whisper"))
