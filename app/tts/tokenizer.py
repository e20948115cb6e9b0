"""The Dia2 text tokenizer: `tokenizer.json` (GPT-2 style byte-level BPE) through `tokenizers`.

`[S1]` and `[S2]` are single added tokens. Tokens are produced without special tokens added.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from tokenizers import Tokenizer

from app.errors import UserError


@dataclass(frozen=True)
class SpecialIds:
    """Token ids the runtime needs besides the config's."""

    bos: int  # text BOS: the conditional row's main token before the first step
    speaker1: int  # `[S1]`
    speaker2: int  # `[S2]`


class Dia2Tokenizer:
    """Encodes words to token ids exactly as the published runtime does."""

    def __init__(self, tokenizer: Tokenizer, special: SpecialIds) -> None:
        self._tok = tokenizer
        self.special = special

    @classmethod
    def load(cls, path: str | Path, *, new_word_id: int) -> Dia2Tokenizer:
        """Load `tokenizer.json`; BOS comes from `tokenizer_config.json` or
        `special_tokens_map.json` beside it (default `<s>`, else id 1)."""
        path = Path(path)
        try:
            tok = Tokenizer.from_file(str(path))
        except Exception as exc:  # tokenizers raises a bare Exception on bad files
            raise UserError(f"{path} is not a readable tokenizer.json ({exc})") from None
        bos_text = _bos_token_text(path.parent)
        bos = tok.token_to_id(bos_text) if bos_text else None
        # The reference treats a missing (or zero) BOS id as 1.
        bos = bos or 1
        s1 = tok.token_to_id("[S1]")
        s2 = tok.token_to_id("[S2]")
        return cls(
            tok,
            SpecialIds(
                bos=bos,
                speaker1=s1 if s1 is not None else new_word_id,
                speaker2=s2 if s2 is not None else new_word_id,
            ),
        )

    def encode(self, text: str) -> list[int]:
        """Token ids of `text`, no special tokens added."""
        return self._tok.encode(text, add_special_tokens=False).ids

    @property
    def vocab_size(self) -> int:
        return self._tok.get_vocab_size(with_added_tokens=True)


def _bos_token_text(folder: Path) -> str | None:
    for name in ("tokenizer_config.json", "special_tokens_map.json"):
        file = folder / name
        if not file.is_file():
            continue
        try:
            value = json.loads(file.read_text(encoding="utf-8")).get("bos_token")
        except (json.JSONDecodeError, UnicodeDecodeError, AttributeError):
            continue
        if isinstance(value, dict):
            value = value.get("content")
        if isinstance(value, str):
            return value
    return "<s>"
