"""The sentence cap of streamed replies, however the text is split into pieces."""

from __future__ import annotations

import pytest

from app.brains.sentences import SentenceLimit
from app.brains.speech_text import WordChunker


def capped(pieces: list[str], n: int | None) -> tuple[str, bool]:
    limit = SentenceLimit(n)
    out = []
    for piece in pieces:
        kept, done = limit.take(piece)
        out.append(kept)
        if done:
            return "".join(out), True
    return "".join(out), False


TEXT = ("Sure! I have 3.5 ideas, e.g. a walk. Here:\n1. one\n2. two\n"
        "```\nx = 1. y = 2. z = 3.\n```\nThat's it. Bye now. Really.")


@pytest.mark.parametrize("n, expected", [
    (1, "Sure!"),
    (2, "Sure! I have 3.5 ideas, e.g. a walk."),
    (3, "Sure! I have 3.5 ideas, e.g. a walk. Here:\n1. one\n2. two\n"
        "```\nx = 1. y = 2. z = 3.\n```\nThat's it."),
])
def test_stops_after_n_sentences_however_the_text_is_split(n, expected):
    for size in (1, 2, 3, 7, len(TEXT)):
        pieces = [TEXT[i:i + size] for i in range(0, len(TEXT), size)]
        assert capped(pieces, n) == (expected, True), size


def test_no_cap_and_a_reply_shorter_than_the_cap_pass_unchanged():
    assert capped([TEXT], None) == (TEXT, False)
    assert capped(["One. Two", " three"], 5) == ("One. Two three", False)
    with pytest.raises(ValueError):
        SentenceLimit(0)


def test_the_last_word_of_a_cut_off_reply_ends_a_sentence():
    for text, last in (("and then we could", "could."), ("we went there,", "there."),
                       ('he said "wait', '"wait.'), ("it was fine!", "fine!"),
                       ("well (maybe", "(maybe.")):
        chunker = WordChunker()
        words = chunker.feed(text) + chunker.flush(end_sentence=True)
        assert words[-1] == last, text
    plain = WordChunker()
    assert (plain.feed("no end") + plain.flush())[-1] == "end"
