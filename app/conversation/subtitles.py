"""Subtitles from a transcript: SubRip (.srt) and WebVTT (.vtt).

Each turn's words are grouped into short cues (at most `max_words` words or `max_seconds` long,
broken after sentence ends), labelled with the speaker's name.
"""

from __future__ import annotations

from collections.abc import Iterable

_SENTENCE_END = ".!?…"


def _stamp(seconds: float, sep: str) -> str:
    ms = max(0, int(round(seconds * 1000)))
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, ms = divmod(rest, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{sep}{ms:03d}"


def cues(turns: Iterable[dict], names: dict[str, str], max_words: int = 8,
         max_seconds: float = 4.0) -> list[tuple[float, float, str]]:
    """(start, end, text) cues from transcript.json turns (word times on the session timeline)."""
    out: list[tuple[float, float, str]] = []
    for turn in turns:
        words = turn.get("words") or []
        label = names.get(turn.get("speaker", ""), turn.get("speaker", ""))
        group: list[dict] = []
        for i, w in enumerate(words):
            group.append(w)
            last = i == len(words) - 1
            long = len(group) >= max_words or w["end"] - group[0]["start"] >= max_seconds
            if last or long or w["word"].rstrip("\"')")[-1:] in _SENTENCE_END:
                text = " ".join(g["word"] for g in group)
                if last and turn.get("interrupted"):
                    text += " —"
                out.append((group[0]["start"], max(w["end"], group[0]["start"] + 0.2),
                            f"{label}: {text}" if label else text))
                group = []
    out.sort(key=lambda c: c[0])
    # cues of one speaker never overlap; across speakers they may (barge-in), which both formats allow
    return out


def to_srt(cue_list: list[tuple[float, float, str]]) -> str:
    blocks = [f"{i}\n{_stamp(a, ',')} --> {_stamp(b, ',')}\n{text}\n"
              for i, (a, b, text) in enumerate(cue_list, start=1)]
    return "\n".join(blocks)


def to_vtt(cue_list: list[tuple[float, float, str]]) -> str:
    blocks = [f"{_stamp(a, '.')} --> {_stamp(b, '.')}\n{text}\n" for a, b, text in cue_list]
    return "WEBVTT\n\n" + "\n".join(blocks)
