"""Rules that turn model text into words a TTS can read: the regular-expression passes.

`speech_tokens` cleans one block of text (markdown, HTML-like and Dia2 control tags, code,
emoji, URLs, stray symbols) and splits it into words plus `LINEBREAK` markers. It is used by
`app.brains.speech_text`, which cuts a stream into blocks at safe places and joins the tokens
into words; the rules here only need to know whether the block starts at the beginning of a
line and whether more text follows it.
"""

from __future__ import annotations

import re
import unicodedata

LINEBREAK = "\n"  # token marking a line break in the source text
_MORE = "\ue000"  # private-use character standing for "more text follows this block"
_GONE = "\ue001"  # private-use character left where a construct was removed

# Fenced code: dropped entirely (an unclosed fence at the very end drops the rest).
_FENCE = re.compile(r"```[^\n]*\n?.*?(?:```|\Z)", re.DOTALL)
# Hidden reasoning of "thinking" models: never spoken.
_THINK = re.compile(r"<think>.*?(?:</think>|\Z)", re.DOTALL)
# HTML-like and special tags (<b>, </i>, <br/>, <|im_end|>, <!-- -->); Dia2 reads them as control.
_TAG = re.compile(r"<[A-Za-z/!|][^<>\n\ue001]{0,200}>")
# Link text: no brackets, line breaks or removed constructs, at most 300 characters.
_IMAGE = re.compile(r"!\[[^\[\]\n\ue001]{0,300}\]\([^)\s]*\)")
_LINK = re.compile(r"\[([^\[\]\n\ue001]{0,300})\]\([^)\s]*\)")
# Dia2 speaker tags: the model must never switch speakers by itself.
_DIA_TAG = re.compile(r"\[\s*S\s*\d+\s*\]", re.IGNORECASE)
_HRULE = re.compile(r"\n[ \t]*(?:[-*_][ \t]*){3,}(?=\n|\Z)")
# Line-start markers: headings, quotes, bullets, numbered items.
_LINE_MARK = re.compile(r"\n[ \t]*(?:#{1,6}|>+|[-*+•‣◦▪]|\d{1,3}[.)])(?:[ \t]+|(?=\n))")
_URL = re.compile(r"(?:https?://|ftp://|www\.)[^\s<>()\[\]{}\"']+", re.IGNORECASE)
# Symbols standing alone between spaces are read as words.
_SYMBOL_WORDS = {"&": "and", "+": "plus", "=": "equals", "<": "less than", ">": "greater than"}
_LONE_SYMBOL = re.compile(r"(?<=[ \n])[&+=<>](?=[ \n]|\Z|\ue000)")
# Number ranges "3-4", "1990–2000" are read "3 to 4"; dates such as 2024-01-05 are left alone.
_NUMBER_RANGE = re.compile(r"(?<![\d–-])(\d+)[–-](\d+)(?![\d–-])")
_REPEATS = (
    (re.compile(r"!{2,}"), "!"),
    (re.compile(r"\?{2,}"), "?"),
    (re.compile(r"\.{4,}"), "..."),
)

# Punctuation and symbols a TTS reads well; every other non-letter, non-digit becomes a space.
_KEEP = frozenset(".,!?;:'\"-–—()%$€£¥&/+=@°…¿¡")
_QUOTES = str.maketrans(
    {"‘": "'", "’": "'", "‚": "'", "“": '"', "”": '"', "„": '"', "«": '"', "»": '"'}
)
_EMOJI_MARKS = frozenset(chr(c) for c in (*range(0xFE00, 0xFE10), 0x20E3))


def _url_to_words(match: re.Match[str]) -> str:
    url = match.group(0)
    trail = len(url) - len(url.rstrip(".,!?;:"))
    return " a link" + (url[-trail:] if trail else "") + " "


def _keep_char(ch: str) -> bool:
    if ch in _KEEP or ch == _MORE or ch == "\n" or ch == " ":
        return True
    cat = unicodedata.category(ch)
    if cat[0] in "LN":
        return True
    return cat[0] == "M" and ch not in _EMOJI_MARKS


def _normalise_chars(text: str) -> str:
    text = text.translate(_QUOTES).replace("\r", "")
    text = _NUMBER_RANGE.sub(r"\1 to \2", text)
    text = text.replace("—", " — ").replace("–", " – ")
    for pattern, repl in _REPEATS:
        text = pattern.sub(repl, text)
    kept = [ch if _keep_char(ch) else " " for ch in text]
    return "".join(kept)


def speech_tokens(text: str, *, line_start: bool, final: bool) -> list[str]:
    """Clean `text` for speech and split it into words and `LINEBREAK` tokens.

    `line_start`: the block starts at the beginning of a line. `final`: nothing follows it;
    otherwise the block must end with whitespace and contain no unfinished construct (open code
    fence, tag or link), which the caller guarantees.
    """
    s = (
        ("\n" if line_start else " ")
        + text.replace("\t", " ").replace("\r", "")
        + ("" if final else _MORE)
    )
    # removed constructs leave a mark (not whitespace), so they never create a line start
    s = _FENCE.sub(_GONE, s)
    s = _THINK.sub(_GONE, s)
    s = _TAG.sub(_GONE, s)
    s = _IMAGE.sub(_GONE, s)
    s = _LINK.sub(r"\1", s)
    s = _DIA_TAG.sub(_GONE, s)
    s = _HRULE.sub("\n", s)
    n = 1
    while n:  # nested markers such as "> - item"; each pass shortens the text
        s, n = _LINE_MARK.subn("\n", s)
    s = _URL.sub(_url_to_words, s)
    s = _LONE_SYMBOL.sub(lambda m: _SYMBOL_WORDS[m.group(0)], s)
    s = s.replace("_", " ").replace("*", " ")
    s = _normalise_chars(s)
    tokens = re.findall(r"\n|[^\s]+", s)
    if not final and tokens and tokens[-1].endswith(_MORE):
        last = tokens.pop()[: -len(_MORE)]
        if last:
            tokens.append(last)
    return [t.replace(_MORE, "") for t in tokens if t != _MORE]
