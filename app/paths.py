"""Where the app keeps its files (settings are in `app.settings.config_dir`; the Hugging Face
model cache is huggingface_hub's). Each folder can be moved with an environment variable where
noted; platformdirs gives the usual place on each system."""

from __future__ import annotations

import os
from pathlib import Path

from app.core import APP_NAME


def app_cache_dir() -> Path:
    """Where the app keeps what it builds or prepares once: the demo models, the packaged
    Whisper joined, GGUF reply models prepared for transformers (DIA2CHAT_DEMO_DIR overrides)."""
    env = os.environ.get("DIA2CHAT_DEMO_DIR")
    if env:
        return Path(env)
    from platformdirs import user_cache_dir

    return Path(user_cache_dir(APP_NAME)) / "demo"


def user_characters_dir() -> Path:
    """Where the user's own characters live (DIA2CHAT_CHARACTERS_DIR overrides)."""
    env = os.environ.get("DIA2CHAT_CHARACTERS_DIR")
    if env:
        return Path(env)
    from platformdirs import user_data_dir

    return Path(user_data_dir(APP_NAME)) / "characters"


def sessions_root() -> Path:
    """Where conversations are recorded, a folder each (the user data folder)."""
    from platformdirs import user_data_dir

    return Path(user_data_dir(APP_NAME)) / "sessions"


def dialogues_root() -> Path:
    """Where the window keeps rendered dialogues and recorded voices (the user data folder)."""
    from platformdirs import user_data_dir

    return Path(user_data_dir(APP_NAME)) / "dialogues"
