"""Word error rate against known text, after a plain normalisation.

Both texts are lower-cased, apostrophes kept inside words, dots of spelled-out letters joined
("D.F." or "D .F." -> "df"), every other punctuation mark dropped. A word of one text that is two
neighbouring words of the other written together ("OpenTTS" / "open TTS") counts as the same
words: a spelling difference, not a recognition error. WER = (substitutions + deletions +
insertions) / reference words, by the usual edit distance.
"""

from __future__ import annotations

import re


def normalise(text: str) -> list[str]:
    text = text.lower().replace("’", "'")
    text = re.sub(r"\s+\.(?=\w)", ".", text)  # "D .F." (two word tokens) is "D.F."
    text = re.sub(r"\b((?:[a-z]\.){2,})", lambda m: m.group(1).replace(".", ""), text)
    text = re.sub(r"[^\w\s']", " ", text)
    return [w.strip("'") for w in text.split() if w.strip("'")]


def _join_compounds(words: list[str], other: list[str]) -> list[str]:
    """`words` with each neighbouring pair merged where `other` writes it as one word."""
    joined = set(other)
    out: list[str] = []
    i = 0
    while i < len(words):
        if i + 1 < len(words) and words[i] + words[i + 1] in joined:
            out.append(words[i] + words[i + 1])
            i += 2
        else:
            out.append(words[i])
            i += 1
    return out


def edit_distance(ref: list[str], hyp: list[str]) -> int:
    row = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        prev, row[0] = row[0], i
        for j, h in enumerate(hyp, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (r != h))
    return row[-1]


def errors(reference: str, hypothesis: str) -> tuple[int, int]:
    """(word errors, reference words) of one recognised text."""
    ref, hyp = normalise(reference), normalise(hypothesis)
    n = len(ref)
    ref, hyp = _join_compounds(ref, hyp), _join_compounds(hyp, ref)
    # a merged reference pair that was recognised as one word counts as its two words
    return edit_distance(ref, hyp), n


def wer(pairs: list[tuple[str, str]]) -> float:
    """Word error rate over (reference, hypothesis) pairs, as a fraction."""
    errs = words = 0
    for reference, hypothesis in pairs:
        e, n = errors(reference, hypothesis)
        errs, words = errs + e, words + n
    return errs / max(words, 1)
