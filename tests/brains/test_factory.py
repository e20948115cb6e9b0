"""Building brains from configs and character-file tables; the persona prompt."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.brains.base import Message, trim_history
from app.brains.factory import brain_config_from_mapping, make_brain
from app.brains.local_llm import TransformersBrain, TransformersConfig
from app.brains.openai_compat import OpenAICompatibleBrain, OpenAICompatibleConfig
from app.brains.persona import persona_prompt, with_system_prompt
from app.brains.script import ScriptBrain, ScriptConfig
from app.brains.typed import TypedBrain, TypedConfig
from app.errors import UserError


def test_make_brain_picks_the_class(tmp_path: Path) -> None:
    script = tmp_path / "s.txt"
    script.write_text("[S1] Hi.", encoding="utf-8")
    assert isinstance(make_brain(TransformersConfig()), TransformersBrain)
    assert isinstance(make_brain(OpenAICompatibleConfig()), OpenAICompatibleBrain)
    assert isinstance(make_brain(ScriptConfig(script)), ScriptBrain)
    assert isinstance(make_brain(TypedConfig()), TypedBrain)
    with pytest.raises(TypeError):
        make_brain("transformers")  # type: ignore[arg-type]


def test_config_from_mapping(tmp_path: Path) -> None:
    cfg = brain_config_from_mapping(
        {"kind": "openai", "model": "llama3.2", "temperature": 1, "api_key": "k"}
    )
    assert cfg == OpenAICompatibleConfig(model="llama3.2", temperature=1.0, api_key="k")
    assert isinstance(cfg.temperature, float)
    assert brain_config_from_mapping({}) == TransformersConfig()
    assert brain_config_from_mapping({"kind": "typed", "wait_timeout_s": 3}) == TypedConfig(3.0)
    script = brain_config_from_mapping({"kind": "script", "path": "scene.txt"}, base_dir=tmp_path)
    assert script == ScriptConfig(tmp_path / "scene.txt")
    absolute = brain_config_from_mapping(
        {"kind": "script", "path": "/x/scene.txt"}, base_dir=tmp_path
    )
    assert absolute == ScriptConfig(Path("/x/scene.txt"))


@pytest.mark.parametrize(
    ("table", "message"),
    [
        (
            {"kind": "gpt"},
            "Unknown brain kind 'gpt'; use one of: transformers, openai, script, typed",
        ),
        (
            {"kind": "openai", "modle": "x"},
            "Unknown brain setting\\(s\\) modle .* known: base_url, model",
        ),
        ({"kind": "script"}, "needs the setting\\(s\\): path"),
        ({"kind": "openai", "temperature": "hot"}, "'temperature' .* must be a number"),
        ({"kind": "transformers", "max_new_tokens": 1.5}, "must be a whole number"),
        ({"kind": "transformers", "allow_download": 1}, "must be true or false"),
        ({"kind": "transformers", "dtype": "int4"}, "dtype must be one of"),
        ({"kind": "openai", "base_url": "localhost:11434"}, "not an http\\(s\\) address"),
        ({"kind": "openai", "model": 3}, "must be text in quotes"),
    ],
)
def test_config_mistakes_are_user_errors(table: dict, message: str) -> None:
    with pytest.raises(UserError, match=message):
        brain_config_from_mapping(table)


def test_persona_prompt_keeps_replies_short_and_plain() -> None:
    prompt = persona_prompt("You are a retired sea captain.", name="Ada")
    assert prompt.startswith("Your name is Ada. You are a retired sea captain.")
    for rule in ("one to three short sentences", "no lists", "no markdown", "no emoji"):
        assert rule in prompt


def test_with_system_prompt_and_trim_history() -> None:
    history = [Message("user", "a"), Message("assistant", "b"), Message("user", "c")]
    with_default = with_system_prompt(history)
    assert with_default[0].role == "system" and with_default[1:] == history
    own = [Message("system", "Mine."), *history]
    assert with_system_prompt(own, "ignored") == own
    assert trim_history(own, 2) == [own[0], own[2], own[3]]
    with pytest.raises(ValueError):
        Message("narrator", "x")  # type: ignore[arg-type]


def test_importing_brains_does_not_load_torch() -> None:
    import subprocess
    import sys

    modules = ", ".join(f"app.brains.{m.stem}" for m in (Path(__file__).parents[2] / "app" / "brains").glob("*.py")
                        if m.stem != "__init__")
    code = f"import sys, {modules}; print('torch' in sys.modules, 'transformers' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).parents[2],
    )
    assert out.stdout.split() == ["False", "False"]
