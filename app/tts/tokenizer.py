"""The Dia2 text tokenizer, loaded from a checkpoint's folder exactly as the reference runtime does.

The reference loads the whole folder with transformers' `AutoTokenizer.from_pretrained(folder,
use_fast=False)`: the slow GPT-2 tokenizer built from `vocab.json` + `merges.txt`, with the added
tokens of `added_tokens.json` / `tokenizer_config.json` merged in and the BOS token read from
`tokenizer_config.json` / `special_tokens_map.json`. `[S1]` / `[S2]` may live only in those added
tokens (they do in SmolLM-style layouts), so reading `tokenizer.json` alone is not enough.

Where the reference's call cannot build a tokenizer (no `vocab.json` / `merges.txt`, or no
`tokenizer_config.json` naming a class), the same files are loaded through the fast tokenizer
instead; on folders where both work they give the same ids (the parity fixtures check it).

Special ids follow the reference: BOS = the tokenizer's BOS id, with a missing or zero id read as 1;
`[S1]` / `[S2]` = their ids when the vocabulary (added tokens included) has them, else the
checkpoint's new-word id. Words are encoded without special tokens added.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from app.errors import UserError, first_line

log = logging.getLogger(__name__)

# Every tokenizer file a checkpoint may carry; `download` fetches those a repository has.
TOKENIZER_FILES = (
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "added_tokens.json",
    "vocab.json",
    "merges.txt",
)


@dataclass(frozen=True)
class SpecialIds:
    """Token ids the runtime needs besides the config's."""

    bos: int  # text BOS: the conditional row's main token before the first step
    speaker1: int  # `[S1]`
    speaker2: int  # `[S2]`


def has_tokenizer(folder: str | Path) -> bool:
    """Whether `folder` holds enough files to build a tokenizer."""
    folder = Path(folder)
    return enough_tokenizer_files({n for n in TOKENIZER_FILES if (folder / n).is_file()})


def enough_tokenizer_files(names: set[str]) -> bool:
    """Whether these tokenizer file names are enough to build a tokenizer."""
    return "tokenizer.json" in names or {"vocab.json", "merges.txt"} <= names


class Dia2Tokenizer:
    """Encodes words to token ids exactly as the published runtime does."""

    def __init__(self, encode: Callable[[str], list[int]], vocab_size: int, special: SpecialIds,
                 kind: str = "") -> None:
        self._encode = encode
        self._vocab_size = vocab_size
        self.special = special
        self.kind = kind  # which transformers class tokenizes (for logs and doctor)
        self.limit: int | None = None  # ids must stay below this (the model's text vocabulary)

    @classmethod
    def load(cls, folder: str | Path, *, new_word_id: int) -> Dia2Tokenizer:
        """Load the tokenizer files of a checkpoint folder (see the module docstring)."""
        folder = Path(folder)
        if folder.is_file():  # a path to tokenizer.json: its folder holds the other files
            folder = folder.parent
        if not has_tokenizer(folder):
            raise UserError(
                f"{folder} has no tokenizer (tokenizer.json, or vocab.json with merges.txt); "
                "the checkpoint is incomplete: download it again or copy the tokenizer files there"
            )
        tok = _load_transformers_tokenizer(folder)
        vocab = tok.get_vocab()  # added tokens included

        def special_id(text: str) -> int:
            return int(tok.convert_tokens_to_ids(text)) if text in vocab else new_word_id

        special = SpecialIds(
            bos=int(tok.bos_token_id or 1),  # the reference reads a missing or zero BOS as 1
            speaker1=special_id("[S1]"),
            speaker2=special_id("[S2]"),
        )

        def encode(text: str) -> list[int]:
            return list(tok.encode(text, add_special_tokens=False))

        # The BPE vocabulary and the speaker tags must fit the model; transformers' own default
        # specials (GPT-2's <|endoftext|> appended past the vocabulary) only appear if a script
        # spells them out, which `encode` refuses.
        size = max(int(tok.vocab_size), special.speaker1 + 1, special.speaker2 + 1)
        return cls(encode, size, special, kind=type(tok).__name__)

    def encode(self, text: str) -> list[int]:
        """Token ids of `text`, no special tokens added."""
        ids = self._encode(text)
        if self.limit is not None and ids and max(ids) >= self.limit:
            raise UserError(
                f"{text!r} holds a token the model does not know (id {max(ids)}, the model has "
                f"{self.limit}); leave out special markers such as <|endoftext|>"
            )
        return ids

    @property
    def vocab_size(self) -> int:
        """Token ids the vocabulary and the speaker tags span (what the model must embed)."""
        return self._vocab_size


def _load_transformers_tokenizer(folder: Path):
    """The reference's `AutoTokenizer.from_pretrained(folder, use_fast=False)`, or the fast
    tokenizer from the same files where the slow one cannot be built."""
    import transformers  # heavy: imported only when a checkpoint is loaded
    from transformers import AutoTokenizer, PreTrainedTokenizerFast

    transformers.logging.set_verbosity_error()  # no "special tokens added" chatter on stderr
    has_config = (folder / "tokenizer_config.json").is_file()
    slow_files = (folder / "vocab.json").is_file() and (folder / "merges.txt").is_file()
    attempts: list[tuple[str, Callable[[], object]]] = []
    if has_config and slow_files:
        attempts.append(("slow", lambda: AutoTokenizer.from_pretrained(folder, use_fast=False)))
    if has_config:
        attempts.append(("fast", lambda: AutoTokenizer.from_pretrained(folder, use_fast=True)))
    if (folder / "tokenizer.json").is_file():
        attempts.append(("tokenizer.json", lambda: PreTrainedTokenizerFast(
            tokenizer_file=str(folder / "tokenizer.json"), **_special_tokens(folder))))
    failures = []
    for name, attempt in attempts:
        try:
            return attempt()
        except Exception as exc:  # transformers raises many kinds for unusable files
            log.debug("tokenizer %s load failed: %s", name, exc)
            failures.append(f"{name}: {first_line(exc)}")
    raise UserError(
        f"the tokenizer files in {folder} cannot be read ({'; '.join(failures) or 'none found'}); "
        "download the checkpoint again"
    )


def _special_tokens(folder: Path) -> dict[str, str]:
    """bos/eos/unk token texts from special_tokens_map.json, for a bare tokenizer.json."""
    import json

    path = folder / "special_tokens_map.json"
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return {}
    out = {}
    for key in ("bos_token", "eos_token", "unk_token"):
        value = data.get(key) if isinstance(data, dict) else None
        if isinstance(value, dict):
            value = value.get("content")
        if isinstance(value, str):
            out[key] = value
    return out

