"""The app's remembered settings: one small TOML file in the user's config folder.

    character = "ava"
    hands_free = true
    vad_threshold = 0.5
    model = "auto"
    theme = "dark"

`AppSettings` is what the desktop app remembers between runs (the session's own choices are
`SessionOptions`, built by `app.conversation.options.to_session_options`). The file lives in
`platformdirs.user_config_dir("dia2-voicechat")/settings.toml`; `DIA2CHAT_CONFIG_DIR` names
another folder (tests use it). A value of None is written by leaving its key out.

A broken file never stops the app: an unknown key is ignored, a value of the wrong type or out of
range falls back to that setting's default (both logged), and a file that is not TOML at all is
renamed to `settings.toml.broken` and the defaults are used. Writing goes to a temporary file in
the same folder that then replaces the old one, so a crash mid-write leaves the old file intact.

No Qt and no torch here: the CLI and the window both use it.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import os
import tomllib
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.atomic import write_atomic
from app.core import APP_NAME, APP_TITLE

log = logging.getLogger(__name__)

FILE_NAME = "settings.toml"

DEVICES = ("auto", "cpu", "cuda")  # where the models run ("cuda:N" is accepted too)
# Dia2's precision: the names of app/tts/precision.py (not imported here: that module needs torch)
PRECISIONS = ("auto", "float32", "reference", "fast")
_OLD_PRECISIONS = {"bfloat16": "fast"}  # values of the former `dtype` setting
THEMES = ("system", "light", "dark")  # the window's colours
ECHO_CANCELLERS = ("aec3", "spectral")  # as app.audio.echo.CANCELLERS (no engine import here)
BRAINS = ("character", "demo", "openai", "transformers", "typed")  # reply sources a user can pick


@dataclass(frozen=True)
class AppSettings:
    """What the desktop app remembers between runs."""

    character: str = "ava"  # the character's key (file stem) or a path to its TOML file
    input_device: str | None = None  # microphone name (or part of it); None: the system default
    output_device: str | None = None  # speaker name (or part of it); None: the system default
    hands_free: bool = True  # a pause ends the person's turn; False: push-to-talk (hold Space)
    headphones: bool = False  # no echo to expect: any speech interrupts the character
    echo_canceller: str = "aec3"  # without headphones: "aec3" (WebRTC) or "spectral" (gate only)
    noise_suppression: bool = True  # WebRTC's noise suppressor on the microphone too
    vad_threshold: float = 0.5  # Silero speech score that counts as speech; lower = more sensitive
    demo: bool = False  # tiny local demo models instead of the published ones
    model: str = "auto"  # Dia2 checkpoint: auto (2B on a GPU with room, else 1B), repo id or folder
    mimi: str | None = None  # Mimi codec weights (repo id, folder or file); None: the default
    device: str = "auto"  # where Dia2 and Mimi run: auto, cpu, cuda (or cuda:N)
    precision: str = "auto"  # Dia2's numbers: auto, float32, reference, fast (app/tts/precision.py)
    asr_model: str | None = None  # Whisper size name, repo id or folder; None: the device's default
    brain: str = "character"  # reply source: character (its own), demo, openai, transformers, typed
    llm_url: str | None = None  # OpenAI-compatible server root incl. /v1; None: local Ollama
    llm_model: str | None = None  # model name for openai / transformers; None: the default
    cfg_scale: float | None = None  # Dia2 guidance scale override; None: the character's
    audio_temperature: float | None = None  # voice sampling temperature override; None: character's
    top_k: int | None = None  # Dia2 top-k override (text and audio); None: the character's
    theme: str = "system"  # system, light or dark
    window_geometry: str | None = None  # the main window's saved geometry (Qt, base64); None: default
    models_folder: str | None = None  # Hugging Face cache folder for models; None: the standard one


# -- where ---------------------------------------------------------------------------------------


def config_dir() -> Path:
    """The folder of the settings file (DIA2CHAT_CONFIG_DIR overrides)."""
    env = os.environ.get("DIA2CHAT_CONFIG_DIR")
    if env:
        return Path(env).expanduser()
    from platformdirs import user_config_dir

    return Path(user_config_dir(APP_NAME))


def settings_path() -> Path:
    """The settings file used when no path is given."""
    return config_dir() / FILE_NAME


# -- checking values -----------------------------------------------------------------------------


def _field_types() -> dict[str, tuple[type, bool]]:
    """field name -> (scalar type, whether None is allowed)."""
    hints = typing.get_type_hints(AppSettings)
    out = {}
    for f in dataclasses.fields(AppSettings):
        hint = hints[f.name]
        args = typing.get_args(hint) if isinstance(hint, types.UnionType) else (hint,)
        base = [a for a in args if a is not type(None)]
        assert len(base) == 1, f.name
        out[f.name] = (base[0], type(None) in args)
    return out


_TYPES = _field_types()
_TYPE_WORDS = {bool: "true or false", int: "a whole number", float: "a number", str: "text in quotes"}


def _range_problem(key: str, value: Any) -> str | None:
    """Why a value of the right type is still unusable, or None."""
    if key == "vad_threshold" and not 0.0 < value < 1.0:
        return "must lie between 0 and 1"
    if key == "device" and value not in DEVICES and not value.startswith("cuda:"):
        return f"must be one of {', '.join(DEVICES)} (or cuda:N)"
    if key == "precision" and value not in PRECISIONS:
        return f"must be one of {', '.join(PRECISIONS)}"
    if key == "echo_canceller" and value not in ECHO_CANCELLERS:
        return f"must be one of {', '.join(ECHO_CANCELLERS)}"
    if key == "theme" and value not in THEMES:
        return f"must be one of {', '.join(THEMES)}"
    if key == "brain" and value not in BRAINS:
        return f"must be one of {', '.join(BRAINS)}"
    if key == "cfg_scale" and not 1.0 <= value <= 20.0:
        return "must lie between 1 and 20"
    if key == "audio_temperature" and not 0.0 <= value <= 5.0:
        return "must lie between 0 and 5"
    if key == "top_k" and value < 1:
        return "must be at least 1"
    if key == "model" and not value.strip():
        return "must name a checkpoint"
    return None


def check_value(key: str, value: Any) -> tuple[Any, str | None]:
    """(the value converted to the field's type, None) or (None, why it cannot be used)."""
    base, _ = _TYPES[key]
    if base is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        if ok:
            value = float(value)
            ok = math.isfinite(value)
    elif base is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    else:
        ok = isinstance(value, base)
    if not ok:
        return None, f"must be {_TYPE_WORDS[base]}, not {value!r}"
    problem = _range_problem(key, value)
    return (None, problem) if problem else (value, None)


def settings_from_mapping(data: dict[str, Any], where: str = "settings") -> AppSettings:
    """Settings from parsed TOML: unknown keys and bad values are logged and left at defaults."""
    values: dict[str, Any] = {}
    data = dict(data)
    if "dtype" in data and "precision" not in data:  # the setting's former name
        old = data.pop("dtype")
        data["precision"] = _OLD_PRECISIONS.get(old, old)
    for key, raw in data.items():
        if key not in _TYPES:
            log.warning("%s: unknown setting %r ignored", where, key)
            continue
        value, problem = check_value(key, raw)
        if problem:
            default = getattr(AppSettings, key)
            log.warning("%s: %s %s; using the default (%r)", where, key, problem, default)
            continue
        values[key] = value
    return AppSettings(**values)


# -- reading and writing -------------------------------------------------------------------------


def load_settings(path: Path | None = None) -> AppSettings:
    """The saved settings, or the defaults when there are none (a broken file is set aside)."""
    path = Path(path) if path is not None else settings_path()
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return AppSettings()
    except OSError as exc:
        log.warning("cannot read the settings file %s (%s); using the defaults", path, exc)
        return AppSettings()
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        broken = path.with_name(path.name + ".broken")
        try:
            os.replace(path, broken)
            log.warning("the settings file %s is not valid TOML (%s); moved it to %s and using "
                        "the defaults", path, exc, broken)
        except OSError as move_exc:
            log.warning("the settings file %s is not valid TOML (%s) and could not be moved "
                        "(%s); using the defaults", path, exc, move_exc)
        return AppSettings()
    return settings_from_mapping(data, where=str(path))


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)  # repr keeps every digit; finite values only reach here
    # a JSON string is a valid TOML basic string (same escapes, \uXXXX for control characters)
    return json.dumps(str(value), ensure_ascii=False)


def settings_toml(settings: AppSettings) -> str:
    """The settings as TOML text (None values left out)."""
    lines = [f"# {APP_TITLE} settings; written by the app, safe to edit while it is closed.", ""]
    for f in dataclasses.fields(settings):
        value = getattr(settings, f.name)
        if value is not None:
            lines.append(f"{f.name} = {_toml_value(value)}")
    return "\n".join(lines) + "\n"


def save_settings(settings: AppSettings, path: Path | None = None) -> Path:
    """Write the settings atomically (temporary file, then rename); returns the file's path.

    Raises OSError when the folder cannot be written.
    """
    path = Path(path) if path is not None else settings_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    text = settings_toml(settings)
    write_atomic(path, text)
    log.debug("settings saved to %s", path)
    return path
