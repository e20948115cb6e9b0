"""Making a brain from its configuration, and configurations from character files.

`make_brain(config)` picks the brain class from the config's type. `brain_config_from_mapping`
turns a table such as a character file's `[brain]` section (`kind = "openai"`, `model = ...`)
into the matching frozen config, checking names and types and saying what is wrong.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from app.brains.base import Brain
from app.brains.local_llm import TransformersBrain, TransformersConfig
from app.brains.openai_compat import OpenAICompatibleBrain, OpenAICompatibleConfig
from app.brains.script import ScriptBrain, ScriptConfig
from app.brains.typed import TypedBrain, TypedConfig
from app.errors import UserError

BrainConfig = TransformersConfig | OpenAICompatibleConfig | ScriptConfig | TypedConfig
CONFIG_TYPES: dict[str, type] = {
    c.kind: c for c in (TransformersConfig, OpenAICompatibleConfig, ScriptConfig, TypedConfig)
}
DEFAULT_KIND = TransformersConfig.kind


def make_brain(config: BrainConfig) -> Brain:
    """The brain for `config` (a model is loaded lazily, on the first reply or `load()`)."""
    if isinstance(config, TransformersConfig):
        return TransformersBrain(config)
    if isinstance(config, OpenAICompatibleConfig):
        return OpenAICompatibleBrain(config)
    if isinstance(config, ScriptConfig):
        return ScriptBrain(config)
    if isinstance(config, TypedConfig):
        return TypedBrain(config)
    raise TypeError(f"not a brain config: {config!r}")


def _check_type(kind: str, name: str, value: Any, annotation: Any) -> Any:
    """Check `value` against the field's type annotation; return it converted."""
    allowed = set(typing.get_args(annotation)) or {annotation}
    if Path in allowed and isinstance(value, (str, Path)):
        return Path(value)
    if bool in allowed and isinstance(value, bool):
        return value
    if not isinstance(value, bool):
        if int in allowed and isinstance(value, int):
            return value
        if float in allowed and isinstance(value, (int, float)):
            return float(value)
    if str in allowed and isinstance(value, str):
        return value
    if type(None) in allowed and value is None:
        return value
    wanted = " or ".join(sorted(_TYPE_WORDS.get(t, str(t)) for t in allowed if t is not type(None)))
    raise UserError(f"The brain setting {name!r} (kind {kind!r}) must be {wanted}, not {value!r}.")


_TYPE_WORDS = {
    bool: "true or false",
    int: "a whole number",
    float: "a number",
    str: "text in quotes",
    Path: "a file path",
}


def brain_config_from_mapping(
    data: Mapping[str, Any], *, base_dir: Path | None = None
) -> BrainConfig:
    """Build a brain config from a table: `kind` picks the brain (default "transformers"), the
    other keys are that config's fields. A relative script `path` is taken from `base_dir`."""
    values = dict(data)
    kind = values.pop("kind", DEFAULT_KIND)
    if kind not in CONFIG_TYPES:
        raise UserError(f"Unknown brain kind {kind!r}; use one of: {', '.join(CONFIG_TYPES)}.")
    cls = CONFIG_TYPES[kind]
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise UserError(
            f"Unknown brain setting(s) {', '.join(unknown)} for kind {kind!r}; "
            f"known: {', '.join(fields)}."
        )
    missing = [n for n, f in fields.items() if n not in values and f.default is dataclasses.MISSING]
    if missing:
        raise UserError(f"Brain kind {kind!r} needs the setting(s): {', '.join(missing)}.")
    hints = typing.get_type_hints(cls)
    for name, value in values.items():
        values[name] = _check_type(kind, name, value, hints[name])
    if base_dir is not None and "path" in values and not values["path"].is_absolute():
        values["path"] = Path(base_dir) / values["path"]
    return cls(**values)
