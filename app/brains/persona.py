"""The system prompt that keeps a language model's replies short and speakable.

Replies are spoken aloud by a TTS with a limited context, so they must be brief, in plain
spoken language, without lists, markdown, emoji or links. `persona_prompt` adds these rules to
a character's own persona text; `with_system_prompt` puts a prompt in front of a history that
has none.
"""

from __future__ import annotations

from collections.abc import Sequence

from app.brains.base import Message

MAX_SENTENCES = 3  # the longest reply the rules ask for; local models are stopped there

SPEAKING_RULES = (
    "You are speaking out loud in a live voice conversation. "
    "Answer in one to three short sentences, the way a person talks. "
    "Use plain words only: no lists, no headings, no markdown, no emoji, no links, no code. "
    "Spell out symbols and abbreviations as they are said. "
    "Never describe your actions in brackets and never speak for the other person."
)

DEFAULT_PERSONA = "You are a friendly, curious companion who enjoys a relaxed chat."


def persona_prompt(persona: str = DEFAULT_PERSONA, *, name: str | None = None) -> str:
    """Return a system prompt: who the character is (`persona`, `name`) plus the speaking rules."""
    parts = []
    if name:
        parts.append(f"Your name is {name.strip()}.")
    if persona.strip():
        parts.append(persona.strip())
    parts.append(SPEAKING_RULES)
    return " ".join(parts)


def with_system_prompt(history: Sequence[Message], prompt: str | None = None) -> list[Message]:
    """Return `history` with a system message first: its own if it has one, else `prompt`
    (default: `persona_prompt()`)."""
    if any(m.role == "system" for m in history):
        return list(history)
    return [Message("system", prompt if prompt is not None else persona_prompt()), *history]
