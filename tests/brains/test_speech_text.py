"""Cleaning reply text for speech, whole and streamed word by word."""

from __future__ import annotations

import random
import re

import pytest

from app.brains.speech_text import WordChunker, clean_for_speech, speech_words

CASES = [
    # (model output, what the TTS should get)
    ("Hello there! How are you today?", "Hello there! How are you today?"),
    (
        "Sure! Here are three ideas:\n\n1. **Go for a walk** in the park.\n2. *Read* a book.\n3. Call a friend 📞.",
        "Sure! Here are three ideas: Go for a walk in the park. Read a book. Call a friend.",
    ),
    ("## Summary\nThe answer is `42`.", "Summary. The answer is 42."),
    ("You can find it at https://www.example.com/path?q=1&r=2.", "You can find it at a link."),
    ("Visit www.python.org, then come back!", "Visit a link, then come back!"),
    ("I love that! 😄🎉 It's great 👍🏽.", "I love that! It's great."),
    ("Family: 👨\u200d👩\u200d👧 and flags 🇫🇷 ok ❤️", "Family: and flags ok"),
    (
        "Here is code:\n```python\ndef f():\n    return 1\n```\nThat prints one.",
        "Here is code: That prints one.",
    ),
    ("> Quote from someone\n> second line", "Quote from someone. second line"),
    ("[S1] Hi! [S2] Hello! [S1]", "Hi! Hello!"),
    ("[s1]Hi [ S2 ] there", "Hi there"),
    (
        "<think>The user wants a joke.</think>Why did the chicken cross the road?",
        "Why did the chicken cross the road?",
    ),
    ("Text with <b>bold</b> and <br/> breaks <|im_end|>", "Text with bold and breaks"),
    ("An image ![a cat](cat.png) here.", "An image here."),
    ("Check [this](http://a.b) and [that one](https://c.d/e_f).", "Check this and that one."),
    ("Temperature is 20°C, about 68°F — nice.", "Temperature is 20°C, about 68°F, nice."),
    ("Use the ~~old~~ new method.", "Use the old new method."),
    ("Price: $5.99 (plus tax) & shipping", "Price: $5.99 (plus tax) and shipping"),
    ('He said "hello"... and left!!!', 'He said "hello"... and left!'),
    ("What?? Really?!", "What? Really?!"),
    ("Email me at bob@example.com.", "Email me at bob@example.com."),
    ("A table:\n| Name | Age |\n|------|-----|\n| Bob  | 30  |", "A table: Name Age. Bob 30"),
    ("Café naïve résumé — 日本語 text, Ελληνικά.", "Café naïve résumé, 日本語 text, Ελληνικά."),
    ("Tabs\tand   many    spaces\n\n\nand newlines", "Tabs and many spaces. and newlines"),
    ("Step one\nStep two\nStep three", "Step one. Step two. Step three"),
    ("- **Name:** Ada\n- **Age:** 36", "Name: Ada. Age: 36"),
    ("I have 3 < 5 apples and x > y.", "I have 3 less than 5 apples and x greater than y."),
    ("snake_case_name and __dunder__", "snake case name and dunder"),
    ("Wait - really? Yes — indeed – sure.", "Wait, really? Yes, indeed, sure."),
    ("From 1990–2000 and 3-4 times.", "From 1990 to 2000 and 3 to 4 times."),
    ("It was on 2024-01-05.", "It was on 2024-01-05."),
    ("Don’t “quote” me.", 'Don\'t "quote" me.'),
    ("* one\n+ two\n• three", "one. two. three"),
    ("Intro\n\n---\n\nAfter the rule", "Intro. After the rule"),
    ("(laughs) That's funny.", "(laughs) That's funny."),
    ("Great 🎉!", "Great!"),
    ("***", ""),
    ("", ""),
    ("   \n\n  ", ""),
    ("🙂🙂🙂", ""),
]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_clean_for_speech(text: str, expected: str) -> None:
    assert clean_for_speech(text) == expected


def _random_split(text: str, rng: random.Random) -> list[str]:
    pieces, i = [], 0
    while i < len(text):
        n = rng.choice((1, 1, 2, 3, 4, 7))
        pieces.append(text[i : i + n])
        i += n
    return pieces


def _token_like_split(text: str) -> list[str]:
    """Pieces the way BPE models stream: a word with its leading space."""
    return re.findall(r"\s*\S+|\s+", text)


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_streaming_gives_the_same_words_however_the_text_is_split(text: str, expected: str) -> None:
    rng = random.Random(len(text))
    for _ in range(30):
        assert " ".join(speech_words(_random_split(text, rng))) == expected
    assert " ".join(speech_words(_token_like_split(text))) == expected
    assert " ".join(speech_words(list(text))) == expected


def test_words_come_out_as_soon_as_they_are_complete() -> None:
    chunker = WordChunker()
    assert chunker.feed("Hel") == []
    assert chunker.feed("lo") == []
    assert chunker.feed(" wor") == ["Hello"]  # the next word started: "Hello" is final
    assert chunker.feed("ld,") == []
    assert chunker.feed(" **how") == []  # "**" might still change what comes next
    assert chunker.feed(" are") == ["world,", "how"]
    assert chunker.flush() == ["are"]
    assert chunker.flush() == []


def test_line_break_and_lone_punctuation_change_the_held_word() -> None:
    chunker = WordChunker()
    assert chunker.feed("- first item ") == ["first"]
    assert chunker.feed("\n- second 🎉 ") == ["item."]
    assert chunker.feed("!") == []
    assert chunker.flush() == ["second!"]


def test_unfinished_link_and_code_wait_for_their_end() -> None:
    chunker = WordChunker()
    assert chunker.feed("See [the big") == []
    assert chunker.feed(" docs](https://example.com/x") == []
    assert chunker.feed(") now. ```python\nprint('hi') ") == ["See", "the", "big", "docs"]
    assert chunker.feed("\n``` Done ok") == ["now.", "Done"]
    assert chunker.flush() == ["ok"]


def test_chunker_is_reusable_after_flush() -> None:
    chunker = WordChunker()
    assert chunker.feed("# Title\nText with") == ["Title.", "Text"]
    assert chunker.flush() == ["with"]
    words = chunker.feed("## Next\nOne two") + chunker.flush()
    assert words == ["Next.", "One", "two"]


def test_plain_chunker_only_splits_words() -> None:
    chunker = WordChunker(clean=False)
    assert chunker.feed("**Hel") == []
    assert chunker.feed("lo** wor") == ["**Hello**"]
    assert chunker.feed("ld\n[S1]") == ["world"]
    assert chunker.flush() == ["[S1]"]


_FRAGMENTS = [
    "Hello",
    " there",
    "!",
    " [S1]",
    "[S2] ",
    "<b>",
    "</i>",
    "<think>secret plan</think>",
    " **bold**",
    " *it*",
    " `code`",
    "\n```js\nx = 1;\n```\n",
    "\n- ",
    "\n1. ",
    "\n# ",
    " https://x.io/a?b=c",
    " [link](http://y.z)",
    " ![pic](p.png)",
    " 😀",
    "🇩🇪",
    " 👍🏽",
    " —",
    " – ",
    " | ",
    " ~~",
    "__",
    " word",
    ",",
    ".",
    "?",
    " 42",
    " don’t",
    " <|im_end|>",
    "\n\n",
    " > ",
    " & ",
    " (laughs)",
    "[",
    "]",
]


def test_fuzz_never_emits_tags_markup_or_emoji() -> None:
    rng = random.Random(1234)
    for _ in range(300):
        text = "".join(rng.choice(_FRAGMENTS) for _ in range(rng.randint(1, 25)))
        whole = clean_for_speech(text)
        streamed = " ".join(speech_words(_random_split(text, rng)))
        assert streamed == whole, text
        assert "[S" not in whole.upper() and "<" not in whole and ">" not in whole, text
        assert not re.search(r"[*#`~|_\[\]{}\\]", whole), text
        assert "secret" not in whole and "http" not in whole, text
        assert all(ord(c) < 0x2000 or c in "—–…€£¥°" for c in whole), text
        assert "  " not in whole and whole == whole.strip()
        for word in whole.split():
            assert any(c.isalnum() for c in word), (word, text)
