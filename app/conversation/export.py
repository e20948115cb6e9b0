"""Re-rendering a recorded session: repaired WAV headers, a fresh mix, fresh subtitles.

A session cut off by a crash is already playable; `export_session` also makes its files tidy:
each track's header is made to count every whole sample on disk, the two tracks are padded to
the same length and mixed again, and the subtitles are rebuilt from transcript.json. With `to`,
the result goes into another folder and the original is left as it was.
"""

from __future__ import annotations

import json
import shutil
import struct
from pathlib import Path

import numpy as np
import soundfile as sf

from app.atomic import write_atomic
from app.conversation.recorder import write_subtitles
from app.conversation.wavlog import HEADER_BYTES
from app.core import SAMPLE_RATE
from app.errors import UserError

TRACKS = ("person", "character")


def repair_header(path: Path) -> None:
    """Make a 16-bit mono WAV's size fields count all the whole samples in the file."""
    size = path.stat().st_size
    with open(path, "r+b") as f:
        head = f.read(HEADER_BYTES)
        if len(head) < HEADER_BYTES or head[:4] != b"RIFF" or head[36:40] != b"data":
            return  # not one of ours: leave it to libsndfile
        data = (size - HEADER_BYTES) // 2 * 2
        f.seek(4)
        f.write(struct.pack("<I", 36 + data))
        f.seek(40)
        f.write(struct.pack("<I", data))


def read_session(folder: Path) -> dict:
    """transcript.json of a session folder (UserError if it is not one)."""
    path = folder / "transcript.json"
    if not path.is_file():
        raise UserError(f"{folder} is not a session folder (no transcript.json)")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise UserError(f"{path} is damaged ({exc})") from None


def export_session(folder: str | Path, to: str | Path | None = None) -> dict:
    """Re-render the session in `folder` (into `to` if given). Returns a summary."""
    src = Path(folder)
    data = read_session(src)
    dst = Path(to) if to is not None else src
    if dst != src:
        dst.mkdir(parents=True, exist_ok=True)
        for name in ("person.wav", "character.wav", "transcript.json"):
            if (src / name).is_file():
                shutil.copyfile(src / name, dst / name)
    tracks = {}
    rate = int(data.get("sample_rate", SAMPLE_RATE))
    for t in TRACKS:
        path = dst / f"{t}.wav"
        if path.is_file():
            repair_header(path)
            try:
                x, rate = sf.read(str(path), dtype="float32")
            except (sf.LibsndfileError, RuntimeError) as exc:
                raise UserError(
                    f"{path} is damaged: it is not a WAV file that can be read ({exc}). Restore "
                    "it from a backup, or move it out of the folder and export again (a missing "
                    "track is taken as silence)") from None
        else:
            x = np.zeros(0, dtype=np.float32)
        tracks[t] = x
    n = max(len(x) for x in tracks.values())
    for t, x in tracks.items():
        if len(x) < n:
            tracks[t] = np.concatenate([x, np.zeros(n - len(x), dtype=np.float32)])
            sf.write(str(dst / f"{t}.wav"), tracks[t], rate, subtype="PCM_16")
    mix = np.clip(tracks["person"] + tracks["character"], -1.0, 1.0)
    sf.write(str(dst / "mix.wav"), mix, rate, subtype="PCM_16")
    data["duration"] = round(n / rate, 3)
    write_atomic(dst / "transcript.json", json.dumps(data, indent=1, ensure_ascii=False))
    write_subtitles(dst, data)
    return {"folder": str(dst), "seconds": data["duration"], "turns": len(data.get("turns", []))}
