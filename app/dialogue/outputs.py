"""An episode's files: the mix, one track per speaker, transcript.json, .srt and .vtt.

For `episode.wav` they are `episode.wav`, `episode.S1.wav`, `episode.S2.wav`,
`episode.transcript.json`, `episode.srt` and `episode.vtt`; the work folder of an unfinished
render is `episode.render/`. Each file is written under a temporary name and renamed into place
when it is whole, so nothing half-written ever lies at these paths.

Dia2 speaks both speakers in one signal. The tracks split it at the pieces' boundaries (where a
speaker's first word starts), with a 10 ms crossfade whose two halves add up to one: the two
tracks sum to the mix. Word times are on the episode's timeline (seconds from its start).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from app.atomic import write_atomic
from app.audio.files import atomic_path
from app.conversation.subtitles import cues, to_srt, to_vtt
from app.core import FRAME_RATE, FRAME_SAMPLES, SAMPLE_RATE
from app.errors import UserError

RAMP = 240  # crossfade between the speaker tracks (10 ms)
BLOCK = SAMPLE_RATE * 30  # samples written at a time
SPEAKERS = (1, 2)


@dataclass(frozen=True)
class EpisodePaths:
    """Where an episode's files go."""

    mix: Path  # the episode (any extension libsndfile writes: .wav, .flac, .ogg)
    tracks: dict[int, Path]  # speaker -> that speaker's track
    transcript: Path  # words with times on the episode's timeline
    srt: Path  # SubRip subtitles
    vtt: Path  # WebVTT subtitles
    work: Path  # the unfinished render's work folder

    @classmethod
    def for_output(cls, out: str | Path) -> EpisodePaths:
        out = Path(out)
        if out.suffix.lstrip(".").upper() not in sf.available_formats():
            raise UserError(f"{out}: give the output a file name ending in .wav (or .flac)")
        stem, ext = out.stem, out.suffix
        near = out.parent
        return cls(out, {s: near / f"{stem}.S{s}{ext}" for s in SPEAKERS},
                   near / f"{stem}.transcript.json", near / f"{stem}.srt", near / f"{stem}.vtt",
                   near / f"{stem}.render")

    def outputs(self) -> list[Path]:
        return [self.mix, *self.tracks.values(), self.transcript, self.srt, self.vtt]

    def finished(self) -> bool:
        """All outputs there and no unfinished render."""
        return all(p.is_file() for p in self.outputs()) and not self.work.exists()


def spans(records: list[dict]) -> list[tuple[int, int, int, int]]:
    """(start frame, stop frame, speaker, script turn) of every piece on the episode's timeline."""
    out = []
    offset = 0
    for r in records:
        for u in r["units"]:
            out.append((offset + u["start"], offset + u["stop"], u["speaker"], u["turn"]))
        offset += r["frames"]
    return out


def transcript(records: list[dict], meta: dict) -> dict:
    """transcript.json: `meta` (script, seed, ...) and the turns with their words' times."""
    turns: list[dict] = []
    offset = 0
    for r in records:
        for u in r["units"]:
            words = [{"word": t, "start": round((offset + s) / FRAME_RATE, 3),
                      "end": round((offset + e) / FRAME_RATE, 3)} for t, s, e in u["words"]]
            start, stop = (offset + u["start"]) / FRAME_RATE, (offset + u["stop"]) / FRAME_RATE
            if turns and turns[-1]["index"] == u["turn"]:
                turns[-1]["words"] += words
                turns[-1]["end"] = round(stop, 3)
            else:
                turns.append({"index": u["turn"], "speaker": f"S{u['speaker']}",
                              "start": round(start, 3), "end": round(stop, 3), "text": "",
                              "words": words})
        offset += r["frames"]
    for t in turns:
        t["text"] = " ".join(w["word"] for w in t["words"])
    generations, offset = [], 0
    for r in records:
        generations.append({"start": round(offset / FRAME_RATE, 3),
                            "end": round((offset + r["frames"]) / FRAME_RATE, 3), "seed": r["seed"],
                            "conditioned_on": r["prefix"]})
        offset += r["frames"]
    return {**meta, "sample_rate": SAMPLE_RATE, "duration": round(offset / FRAME_RATE, 3),
            "generations": generations, "turns": turns}


def track_weight(speaker: int, pieces: list[tuple[int, int, int, int]], start: int,
                 stop: int) -> np.ndarray:
    """How much of samples [start, stop) belongs to `speaker`'s track: 1 inside its pieces, 0
    elsewhere, ramping over `RAMP` samples around each change of speaker. float32 [stop - start]."""
    w = np.zeros(stop - start, dtype=np.float32)
    ramp = (np.arange(RAMP, dtype=np.float32) + 0.5) / RAMP
    for a, b, who, _ in pieces:
        a, b = a * FRAME_SAMPLES, b * FRAME_SAMPLES
        lo, hi = max(a, start), min(b, stop)
        if who == speaker and lo < hi:
            w[lo - start : hi - start] = 1.0
    for i in range(1, len(pieces)):
        before, after = pieces[i - 1][2], pieces[i][2]
        if before == after:
            continue
        edge = pieces[i][0] * FRAME_SAMPLES
        lo, hi = edge - RAMP // 2, edge + RAMP // 2
        if hi <= start or lo >= stop:
            continue
        shape = ramp if after == speaker else 1.0 - ramp
        a, b = max(lo, start), min(hi, stop)
        w[a - start : b - start] = shape[a - lo : b - lo]
    return w


def _write_audio(path: Path, audio: np.ndarray, weight=None) -> None:
    fmt = path.suffix.lstrip(".").upper()
    if fmt not in sf.available_formats():
        raise UserError(f"{path}: unknown audio file type {path.suffix!r}; use .wav or .flac")
    subtype = "PCM_16" if fmt in ("WAV", "FLAC", "AIFF") else None
    with atomic_path(path) as tmp, sf.SoundFile(str(tmp), "w", SAMPLE_RATE, 1, subtype=subtype,
                                                   format=fmt) as f:
        for a in range(0, len(audio), BLOCK):
            b = min(a + BLOCK, len(audio))
            x = np.asarray(audio[a:b], dtype=np.float32)
            if weight is not None:
                x = x * weight(a, b)
            f.write(np.clip(x, -1.0, 1.0))


def write_outputs(paths: EpisodePaths, records: list[dict], audio_path: Path, meta: dict) -> dict:
    """Write every output from the finished records and the episode's samples; returns the
    transcript."""
    frames = sum(r["frames"] for r in records)
    n = frames * FRAME_SAMPLES
    if audio_path.stat().st_size < n * 4:
        raise RuntimeError(f"{audio_path} holds fewer samples than the episode's {frames} frames")
    audio = np.memmap(audio_path, dtype=np.float32, mode="r", shape=(n,)) if n else np.zeros(0, np.float32)
    pieces = spans(records)
    paths.mix.parent.mkdir(parents=True, exist_ok=True)
    for speaker, path in paths.tracks.items():
        _write_audio(path, audio, lambda a, b, s=speaker: track_weight(s, pieces, a, b))
    data = transcript(records, meta)
    write_atomic(paths.transcript, json.dumps(data, indent=1, ensure_ascii=False))
    cue_list = cues(data["turns"], {"S1": "S1", "S2": "S2"})
    write_atomic(paths.srt, to_srt(cue_list))
    write_atomic(paths.vtt, to_vtt(cue_list))
    _write_audio(paths.mix, audio)  # last: a finished mix means a finished episode
    del audio
    return data



def export_episode(paths: EpisodePaths, folder: Path) -> list[Path]:
    """Copy a finished episode's files into `folder`; returns the copies."""
    import shutil

    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for src in paths.outputs():
        dst = folder / src.name
        with atomic_path(dst) as tmp:
            shutil.copyfile(src, tmp)
        out.append(dst)
    return out
