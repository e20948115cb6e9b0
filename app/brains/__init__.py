"""Where the character's replies come from.

Every reply source is a `Brain`: `reply(history, cancel=...)` yields text pieces as they
arrive. Kinds: a local LLM run with transformers (`TransformersBrain`, the default), any
OpenAI-compatible server (`OpenAICompatibleBrain`), a dialogue script (`ScriptBrain`) and typed
text (`TypedBrain`). `make_brain(config)` builds one from its frozen config. Reply text is made
speakable with `speech_words` (streaming, whole words) or `clean_for_speech` (a whole text).
Nothing here imports torch or transformers until a local model is loaded.
"""

from app.brains.base import Brain, BrainError, Message, Role, trim_history
from app.brains.demo_llm import build_demo_llm, demo_brain_config
from app.brains.factory import BrainConfig, brain_config_from_mapping, make_brain
from app.brains.local_llm import TransformersBrain, TransformersConfig
from app.brains.openai_compat import ConnectionStatus, OpenAICompatibleBrain, OpenAICompatibleConfig
from app.brains.persona import DEFAULT_PERSONA, SPEAKING_RULES, persona_prompt, with_system_prompt
from app.brains.script import ScriptBrain, ScriptConfig, ScriptOver, ScriptTurn, parse_script
from app.brains.speech_text import WordChunker, clean_for_speech, speech_words
from app.brains.typed import TypedBrain, TypedConfig

__all__ = [
    "DEFAULT_PERSONA",
    "SPEAKING_RULES",
    "Brain",
    "BrainConfig",
    "BrainError",
    "ConnectionStatus",
    "Message",
    "OpenAICompatibleBrain",
    "OpenAICompatibleConfig",
    "Role",
    "ScriptBrain",
    "ScriptConfig",
    "ScriptOver",
    "ScriptTurn",
    "TransformersBrain",
    "TransformersConfig",
    "TypedBrain",
    "TypedConfig",
    "WordChunker",
    "brain_config_from_mapping",
    "build_demo_llm",
    "clean_for_speech",
    "demo_brain_config",
    "make_brain",
    "parse_script",
    "persona_prompt",
    "speech_words",
    "trim_history",
    "with_system_prompt",
]
