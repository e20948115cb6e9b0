"""Fixtures for the audio tests: speech recordings and the PulseAudio virtual sound card."""

from __future__ import annotations

import pytest

from tests.audio.pulse import pulse_server  # noqa: F401  (fixture)
from tests.audio.speech import speech_files


@pytest.fixture(scope="session")
def speech_paths(tmp_path_factory) -> list:
    """English speech recordings (shared ones, or espeak-ng made)."""
    return speech_files(tmp_path_factory.mktemp("speech"))
