"""Characters: who the app talks as, read from small TOML files.

    name = "Ava"
    persona = "You are Ava, a warm and curious companion."
    greeting = "Hi, I'm Ava. What's on your mind?"

    [voice]                       # optional: without it the first reply becomes the voice
    sample = "voices/ava.wav"     # relative to the TOML file
    transcript = "Hello there..." # optional, for people reading the file

    [brain]                       # where replies come from (app.brains); default: local LLM
    kind = "openai"
    model = "llama3.2"

    [dia2]                        # generation settings
    cfg_scale = 2.0
    seed = 7

Shipped characters live in `resources/characters/`, the user's own in the user data folder
(`user_characters_dir()`); a user file wins over a shipped one of the same name. A broken file
raises a `UserError` naming the file and the field. The voice sample's word times are computed
once with the recogniser and cached by the audio's hash (`voice_words`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.brains.factory import BrainConfig, brain_config_from_mapping
from app.brains.local_llm import TransformersConfig
from app.brains.persona import persona_prompt
from app.core import APP_NAME, ASR_RATE, SAMPLE_RATE, Word
from app.errors import UserError
from app.paths import user_characters_dir
from app.tts.options import GenerationOptions

if TYPE_CHECKING:
    import numpy as np

log = logging.getLogger(__name__)

BUILTIN_DIR = Path(__file__).resolve().parents[2] / "resources" / "characters"
_TOP_KEYS = {"name", "persona", "greeting", "voice", "brain", "dia2"}
_VOICE_KEYS = {"sample", "transcript", "words"}


@dataclass(frozen=True)
class Dia2Settings:
    """A character's generation settings (the `[dia2]` table)."""

    cfg_scale: float = 2.0  # classifier-free guidance; 1.0 turns it off
    text_temperature: float = 0.6  # temperature of the text action; 0 = argmax
    audio_temperature: float = 0.8  # temperature of the audio codes; 0 = argmax
    top_k: int = 50  # top-k of both text and audio sampling
    seed: int | None = None  # repeatable replies when set (each reply uses seed + turn index)

    def options(self, turn: int = 0, **overrides: Any) -> GenerationOptions:
        """Generation options for the reply of conversation turn `turn`."""
        values: dict[str, Any] = {
            "cfg_scale": self.cfg_scale, "text_temperature": self.text_temperature,
            "audio_temperature": self.audio_temperature, "text_top_k": self.top_k,
            "audio_top_k": self.top_k, "seed": None if self.seed is None else self.seed + turn,
        }
        values.update(overrides)
        return GenerationOptions(**values)


@dataclass(frozen=True)
class Character:
    """One character, as its TOML file describes it."""

    name: str  # shown in the transcript and told to the brain
    persona: str = ""  # who the character is: the heart of the system prompt
    greeting: str = ""  # said when a session starts ("" = none)
    voice: Path | None = None  # voice sample audio file; None: the first reply becomes the voice
    voice_transcript: str | None = None  # what the voice sample says (informative)
    voice_words: tuple[Word, ...] | None = None  # word times given in the file (else recognised)
    brain: BrainConfig = field(default_factory=TransformersConfig)  # where replies come from
    dia2: Dia2Settings = field(default_factory=Dia2Settings)  # generation settings
    source: Path | None = None  # the TOML file it was read from

    @property
    def key(self) -> str:
        """The name used on the command line: the file's stem, else the name in lower case."""
        return self.source.stem if self.source is not None else self.name.lower()

    def system_prompt(self) -> str:
        return persona_prompt(self.persona, name=self.name)



def _bad(path: Path, where: str, what: str) -> UserError:
    return UserError(f"character file {path}: {where} {what}")


def _text(path: Path, data: Mapping, key: str, where: str) -> str | None:
    if key not in data:
        return None
    value = data[key]
    if not isinstance(value, str):
        raise _bad(path, f"field {where!r}", f"must be text in quotes, not {value!r}")
    return value


def _required_text(path: Path, data: Mapping, key: str, where: str) -> str:
    value = _text(path, data, key, where)
    if value is None:
        raise _bad(path, f"field {where!r}", "is missing; add it (e.g. name = \"Ava\")")
    return value


def _dia2(path: Path, table: Any) -> Dia2Settings:
    if not isinstance(table, Mapping):
        raise _bad(path, "[dia2]", "must be a table of settings")
    known = {f.name: f for f in dataclasses.fields(Dia2Settings)}
    values: dict[str, Any] = {}
    for key, value in table.items():
        if key not in known:
            raise _bad(path, f"field 'dia2.{key}'", f"is not a Dia2 setting; known: {', '.join(known)}")
        want_int = key in ("top_k", "seed")
        ok = isinstance(value, int) if want_int else isinstance(value, (int, float))
        if isinstance(value, bool) or not ok:
            kind = "a whole number" if want_int else "a number"
            raise _bad(path, f"field 'dia2.{key}'", f"must be {kind}, not {value!r}")
        values[key] = value if want_int else float(value)
    settings = Dia2Settings(**values)
    try:
        settings.options()
    except UserError as exc:
        raise _bad(path, "[dia2]", f"is not usable: {exc}") from None
    return settings


def _words(path: Path, raw: Any) -> tuple[Word, ...]:
    try:
        words = tuple(Word(str(t), float(a), float(b)) for t, a, b in raw)
    except (TypeError, ValueError):
        raise _bad(path, "field 'voice.words'",
                   'must be a list like [["Hello", 0.1, 0.4], ["there", 0.45, 0.8]]') from None
    if any(w.end < w.start or w.start < 0 for w in words):
        raise _bad(path, "field 'voice.words'", "has a word that ends before it starts")
    return words


def load_character(path: str | Path) -> Character:
    """Read and check one character file."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise UserError(f"cannot read character file {path}: {exc.strerror}") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise UserError(f"character file {path} is not UTF-8 text; save it as UTF-8") from None
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"character file {path} is not valid TOML: {exc}") from None
    unknown = sorted(set(data) - _TOP_KEYS)
    if unknown:
        raise _bad(path, f"field {unknown[0]!r}", f"is unknown; known fields: {', '.join(sorted(_TOP_KEYS))}")
    name = _required_text(path, data, "name", "name").strip()
    if not name:
        raise _bad(path, "field 'name'", "is empty; give the character a name")
    voice = voice_text = voice_words = None
    if "voice" in data:
        table = data["voice"]
        if not isinstance(table, Mapping):
            raise _bad(path, "[voice]", 'must be a table, e.g. [voice] sample = "voices/me.wav"')
        extra = sorted(set(table) - _VOICE_KEYS)
        if extra:
            raise _bad(path, f"field 'voice.{extra[0]}'", f"is unknown; known: {', '.join(sorted(_VOICE_KEYS))}")
        sample = _required_text(path, table, "sample", "voice.sample")
        voice = (path.parent / Path(sample).expanduser()).resolve()
        if not voice.is_file():
            raise _bad(path, "field 'voice.sample'", f"names {voice}, which does not exist")
        voice_text = _text(path, table, "transcript", "voice.transcript")
        if "words" in table:
            voice_words = _words(path, table["words"])
    brain_table = data.get("brain", {})
    if not isinstance(brain_table, Mapping):
        raise _bad(path, "[brain]", 'must be a table, e.g. [brain] kind = "openai"')
    try:
        brain = brain_config_from_mapping(brain_table, base_dir=path.parent)
    except UserError as exc:
        raise _bad(path, "[brain]", f"is wrong: {exc}") from None
    return Character(
        name=name,
        persona=(_text(path, data, "persona", "persona") or "").strip(),
        greeting=(_text(path, data, "greeting", "greeting") or "").strip(),
        voice=voice, voice_transcript=voice_text, voice_words=voice_words,
        brain=brain, dia2=_dia2(path, data.get("dia2", {})), source=path,
    )


def character_dirs() -> list[Path]:
    """Folders searched for characters, the user's first."""
    return [user_characters_dir(), BUILTIN_DIR]


def character_files(dirs: list[Path] | None = None) -> dict[str, Path]:
    """name (file stem, lower case) -> file; earlier folders win."""
    found: dict[str, Path] = {}
    for folder in dirs if dirs is not None else character_dirs():
        if folder.is_dir():
            for path in sorted(folder.glob("*.toml")):
                found.setdefault(path.stem.lower(), path)
    return found


def find_character(name: str, dirs: list[Path] | None = None) -> Character:
    """A character by file path, file stem or `name` field (case-insensitive)."""
    path = Path(name).expanduser()
    if path.suffix == ".toml" or path.is_file():
        if not path.is_file():
            raise UserError(f"character file not found: {path}")
        return load_character(path)
    files = character_files(dirs)
    if name.lower() in files:
        return load_character(files[name.lower()])
    for file in files.values():
        try:
            ch = load_character(file)
        except UserError:
            continue
        if ch.name.lower() == name.lower():
            return ch
    known = ", ".join(sorted(files)) or "none"
    raise UserError(f"no character called {name!r}; known: {known}. Add your own as a TOML file in "
                    f"{user_characters_dir()}")


# -- voice sample word times, computed once ------------------------------------------------
def voice_cache_dir() -> Path:
    from platformdirs import user_cache_dir

    return Path(os.environ.get("DIA2CHAT_VOICE_CACHE") or Path(user_cache_dir(APP_NAME)) / "voice-words")


def voice_words(character: Character, audio24k: np.ndarray,
                transcribe: Callable[[np.ndarray], Iterable[Any]],
                cache_dir: Path | None = None) -> tuple[Word, ...]:
    """Word times of the character's voice sample: from the file, from the cache, or recognised
    now with `transcribe(audio16k) -> words` and cached (keyed by the audio's content)."""
    if character.voice_words:
        return character.voice_words
    assert character.voice is not None
    digest = hashlib.sha256(character.voice.read_bytes()).hexdigest()[:24]
    folder = cache_dir or voice_cache_dir()
    cached = folder / f"{digest}.json"
    if cached.is_file():
        try:
            return tuple(Word(w[0], float(w[1]), float(w[2])) for w in json.loads(cached.read_text()))
        except (ValueError, TypeError, IndexError, OSError):
            log.warning("ignoring a broken voice-word cache %s", cached)
    from app.audio.resample import resample

    words = tuple(Word(w.text, float(w.start), float(w.end))
                  for w in transcribe(resample(audio24k, SAMPLE_RATE, ASR_RATE)))
    if not words:
        raise UserError(f"no speech was recognised in the voice sample {character.voice}; use a "
                        "recording of clear speech, or give its words in [voice] words = [...]")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        from app.atomic import write_atomic

        write_atomic(cached, json.dumps([[w.text, w.start, w.end] for w in words]))
    except OSError as exc:
        log.warning("could not cache the voice sample's words in %s: %s", folder, exc)
    return words
