"""The render's work folder (`<name>.render/` beside the output): what a resumed render needs.

    manifest.json        what is being rendered (script, voices, model, options, seed, plan)
    voices.json, voice-S1.npy, voice-S2.npy   the voice samples' words and Mimi codes
    gen-00000.npy        the Mimi codes a finished generation kept, int16 [K, frames]
    gen-00000.json       its words, pieces and prefix (written last: it marks the generation done)
    audio.f32            the episode's samples so far (float32, rewritten on resume)

Every file but audio.f32 is written to a temporary name, flushed to disk and renamed into place,
so after a crash or a full disk each file is either whole or absent. A generation counts as done
only when both of its files are there. The audio is not needed to resume: it is decoded again
from the codes (which also rebuilds the decoder's state).
"""

from __future__ import annotations

import io
import json
import logging
import shutil
from pathlib import Path

import numpy as np

from app.atomic import write_bytes_atomic

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"
AUDIO = "audio.f32"


def _npy(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, array, allow_pickle=False)
    return buf.getvalue()


class RenderStore:
    """One render's work folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)

    # -- the manifest --------------------------------------------------------------------
    def exists(self) -> bool:
        return (self.folder / MANIFEST).is_file()

    def manifest(self) -> dict | None:
        """The manifest, or None when there is no render here (a damaged one reads as None)."""
        try:
            return json.loads((self.folder / MANIFEST).read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (json.JSONDecodeError, UnicodeDecodeError):
            log.warning("%s is damaged; the render starts over", self.folder / MANIFEST)
            return None

    def create(self, manifest: dict) -> None:
        """Start a new render here (what an older, unusable one left is removed first)."""
        if self.folder.exists():
            shutil.rmtree(self.folder)
        self.folder.mkdir(parents=True)
        self._write_json(MANIFEST, manifest)

    def _write_json(self, name: str, data) -> None:
        text = json.dumps(data, indent=1, ensure_ascii=False)
        write_bytes_atomic(self.folder / name, text.encode("utf-8"))

    # -- voices ----------------------------------------------------------------------------
    def save_voices(self, voices: dict[int, tuple[list, np.ndarray]]) -> None:
        """`{speaker: (words as [text, start, end] lists, codes int [K, T])}`."""
        for speaker, (_, codes) in voices.items():
            write_bytes_atomic(self.folder / f"voice-S{speaker}.npy", _npy(codes.astype(np.int16)))
        self._write_json("voices.json", {str(s): words for s, (words, _) in voices.items()})

    def load_voices(self) -> dict[int, tuple[list, np.ndarray]] | None:
        try:
            words = json.loads((self.folder / "voices.json").read_text(encoding="utf-8"))
            return {int(s): (w, np.load(self.folder / f"voice-S{s}.npy").astype(np.int64))
                    for s, w in words.items()}
        except (FileNotFoundError, ValueError, OSError):
            return None

    # -- generations -----------------------------------------------------------------------
    def finished(self) -> int:
        """How many generations, counted from the first, are done."""
        n = 0
        while (self.folder / f"gen-{n:05d}.json").is_file() and (self.folder / f"gen-{n:05d}.npy").is_file():
            n += 1
        return n

    def save_generation(self, index: int, codes: np.ndarray, record: dict) -> None:
        """Keep a finished generation: its codes int [K, frames] first, then its record."""
        write_bytes_atomic(self.folder / f"gen-{index:05d}.npy", _npy(codes.astype(np.int16)))
        self._write_json(f"gen-{index:05d}.json", record)

    def load_generation(self, index: int) -> tuple[np.ndarray, dict]:
        codes = np.load(self.folder / f"gen-{index:05d}.npy").astype(np.int64)
        record = json.loads((self.folder / f"gen-{index:05d}.json").read_text(encoding="utf-8"))
        return codes, record

    # -- audio -----------------------------------------------------------------------------
    @property
    def audio_path(self) -> Path:
        return self.folder / AUDIO

    def open_audio(self):
        """The episode's samples, written from the start (a binary file to append float32 to)."""
        return open(self.audio_path, "wb")

    def remove(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)
