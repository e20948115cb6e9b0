"""Word times from a JSON file (`say --voice-words`, `--voice-words-s1/-s2`): read and checked.

The file is a list of `{"word": "Hello", "start": 0.12, "end": 0.40}` (or `"text"` for "word",
or `[text, start, end]`), optionally under a `"words"` key; times are seconds into the recording
the words belong to.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from app.core import Word
from app.errors import UserError


def read_words(path: str | Path, duration: float | None = None) -> tuple[Word, ...]:
    """Word times from JSON: a list of {"word"|"text", "start", "end"} or [text, start, end].

    `duration` (seconds of the recording the words belong to) bounds the times."""
    path = Path(path)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"word file not found: {path}") from None
    except IsADirectoryError:
        raise UserError(f"{path} is a folder; give the JSON file of word times") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise UserError(f"{path} is not valid JSON ({exc})") from None
    if isinstance(raw, dict):
        raw = raw.get("words", raw)
    shape = '[{"word": "Hello", "start": 0.1, "end": 0.4}, ...]'
    if not isinstance(raw, list):
        raise UserError(f"{path}: expected a list of words like {shape}")
    words = []
    for n, item in enumerate(raw, 1):
        try:
            if isinstance(item, dict):
                text = item.get("word", item.get("text"))
                start, end = item["start"], item["end"]
            else:
                text, start, end = item
            if not isinstance(text, str) or isinstance(start, bool) or isinstance(end, bool):
                raise TypeError
            w = Word(text.strip(), float(start), float(end))
        except (KeyError, TypeError, ValueError):
            raise UserError(f"{path}: entry {n} is not a word with times; expected a list like "
                            f"{shape}") from None
        if not (math.isfinite(w.start) and math.isfinite(w.end)):
            raise UserError(f"{path}: word {n} ({w.text!r}) has a time that is not a number")
        if w.start < 0:
            raise UserError(f"{path}: word {n} ({w.text!r}) starts before the recording "
                            f"(start {w.start})")
        if w.end < w.start:
            raise UserError(f"{path}: word {n} ({w.text!r}) ends before it starts "
                            f"(start {w.start}, end {w.end})")
        if duration is not None and w.end > duration + 0.05:
            raise UserError(f"{path}: word {n} ({w.text!r}) ends at {w.end} s, after the end of "
                            f"the {duration:.2f} s recording; are these the words of that file?")
        if w.text:
            words.append(w)
    if not words:
        raise UserError(f"{path} holds no words")
    return tuple(words)
