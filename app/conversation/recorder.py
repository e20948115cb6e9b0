"""The session recording, written as it happens.

A session folder holds, on one timeline (24 kHz, 0 = session start):

- `person.wav`: the person's track (the microphone, or the input files in headless mode),
- `character.wav`: the character's track (what was heard: audio cut by an interruption is not),
- `mix.wav`: both added together,
- `microphone.wav` (live sessions with echo cancellation): the raw microphone, before the
  character's echo was removed, on the same timeline (not in the mix),
- `transcript.json`: the character, the turns with speakers, text, words with start/end on the
  timeline, interruptions and per-turn latency,
- `transcript.srt` / `transcript.vtt`: subtitles.

Crash safety: the WAVs are `WavAppender`s, valid after every append; the transcript and the
subtitles are rewritten whole after each turn to a temporary file that is then renamed into
place, so a reader sees the old or the new version, never half of one. A kill loses at most the
audio not yet handed to the recorder (one frame or one capture chunk).

A write that fails (full disk) stops the recording, not the conversation: `on_error` is called
once with a message and later writes are ignored.

Nothing recorded is overwritten: a folder that already holds a session is refused unless the
caller asks to replace it (`replace=True`, the command line's `--force`).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from app.atomic import write_atomic
from app.conversation.subtitles import cues, to_srt, to_vtt
from app.conversation.turns import Turn
from app.conversation.wavlog import RecordingError, WavAppender, describe_os_error
from app.core import SAMPLE_RATE
from app.errors import UserError

log = logging.getLogger(__name__)

TRACKS = ("person", "character")
SIDE_TRACKS = ("microphone",)  # recorded beside the mix, not in it; written only when used
FORMAT_VERSION = 1
SESSION_FILES = ("transcript.json", "person.wav", "character.wav", "mix.wav")  # what marks a session


def holds_session(folder: str | Path) -> bool:
    """Whether `folder` already holds (part of) a recorded session."""
    return any((Path(folder) / name).exists() for name in SESSION_FILES)


def existing_session_error(folder: str | Path) -> UserError:
    return UserError(f"{folder} already holds a recorded session; choose another --out folder "
                     "(or leave --out out for a new one), or add --force to replace it")


class SessionRecorder:
    """Writes one session folder. Thread-safe.

    Args:
        folder: the session folder (created).
        meta: what transcript.json says about the session (character name, models, ...).
        on_error: called once with a message when recording stops because of a failed write.
        replace: record over a session already in `folder` (else that is a `UserError`).
    """

    def __init__(self, folder: str | Path, meta: dict | None = None,
                 on_error: Callable[[str], None] | None = None, *, replace: bool = False) -> None:
        self.folder = Path(folder)
        if not replace and holds_session(self.folder):
            raise existing_session_error(self.folder)
        self.meta = dict(meta or {})
        self._on_error = on_error
        self._lock = threading.RLock()
        self.failed: str | None = None  # the message, once a write failed
        self._turns: list[dict] = []
        self._tails = {t: np.zeros(0, dtype=np.float32) for t in TRACKS}  # not yet mixed
        self._closed = False
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise RecordingError(folder_error(exc, self.folder)) from exc
        self._wavs = {t: WavAppender(self.folder / f"{t}.wav", SAMPLE_RATE) for t in TRACKS}
        self._side: dict[str, WavAppender] = {}  # side tracks opened so far
        self._mix = WavAppender(self.folder / "mix.wav", SAMPLE_RATE)
        self._last_sync = time.monotonic()
        self.meta.setdefault("created", time.strftime("%Y-%m-%dT%H:%M:%S%z"))
        self._save_transcript()

    # -- audio ---------------------------------------------------------------------------
    def length(self, track: str) -> int:
        """Samples on `track` so far."""
        return self._wavs[track].samples

    def write(self, track: str, start: int, samples: np.ndarray) -> None:
        """Put `samples` on `track` at timeline sample `start`. A gap before them is filled with
        silence; audio that would overlap what the track already holds is placed after it."""
        with self._lock:
            if self.failed or self._closed:
                return
            x = np.asarray(samples, dtype=np.float32).reshape(-1)
            gap = int(start) - self._wavs[track].samples
            if gap > 0:
                x = np.concatenate([np.zeros(gap, dtype=np.float32), x])
            self._append(track, x)

    def write_side(self, track: str, start: int, samples: np.ndarray) -> None:
        """Put `samples` on side track `track` (one of `SIDE_TRACKS`, opened on first use) at
        timeline sample `start`, like `write`, outside the mix."""
        with self._lock:
            if self.failed or self._closed:
                return
            try:
                if track not in self._side:
                    if track not in SIDE_TRACKS:
                        raise ValueError(f"no side track {track!r}")
                    self._side[track] = WavAppender(self.folder / f"{track}.wav", SAMPLE_RATE)
                    self._save_transcript()
                wav = self._side[track]
                x = np.asarray(samples, dtype=np.float32).reshape(-1)
                gap = int(start) - wav.samples
                if gap > 0:
                    x = np.concatenate([np.zeros(gap, dtype=np.float32), x])
                if len(x):
                    wav.append(x)
            except RecordingError as exc:
                self._fail(str(exc))

    def advance(self, sample: int) -> None:
        """Fill both tracks with silence up to timeline sample `sample` (keeps the mix moving
        while one side is quiet)."""
        with self._lock:
            for track in TRACKS:
                gap = int(sample) - self._wavs[track].samples
                if gap > 0 and not self.failed and not self._closed:
                    self._append(track, np.zeros(gap, dtype=np.float32))

    def _append(self, track: str, x: np.ndarray) -> None:
        if not len(x):
            return
        try:
            self._wavs[track].append(x)
            self._tails[track] = np.concatenate([self._tails[track], x])
            n = min(len(t) for t in self._tails.values())
            if n:
                mix = self._tails["person"][:n] + self._tails["character"][:n]
                self._mix.append(mix)
                for t in TRACKS:
                    self._tails[t] = self._tails[t][n:]
            if time.monotonic() - self._last_sync > 2.0:
                for w in (*self._wavs.values(), *self._side.values(), self._mix):
                    w.sync()
                self._last_sync = time.monotonic()
        except RecordingError as exc:
            self._fail(str(exc))

    # -- transcript ----------------------------------------------------------------------
    def add_turn(self, turn: Turn) -> None:
        """Add a finished turn and rewrite transcript.json and the subtitles."""
        with self._lock:
            self._turns.append(turn.to_json())
            self._save_transcript()

    def transcript(self) -> dict:
        return {
            "format": "dia2-voicechat-session",
            "version": FORMAT_VERSION,
            **self.meta,
            "sample_rate": SAMPLE_RATE,
            "files": {"person": "person.wav", "character": "character.wav", "mix": "mix.wav",
                      **{t: f"{t}.wav" for t in self._side}},
            "turns": list(self._turns),
        }

    def _save_transcript(self) -> None:
        if self.failed:
            return
        data = self.transcript()
        try:
            write_atomic(self.folder / "transcript.json", json.dumps(data, indent=1, ensure_ascii=False))
            write_subtitles(self.folder, data)
        except OSError as exc:
            self._fail(describe_os_error(exc, self.folder / "transcript.json"))

    def _fail(self, message: str) -> None:
        if self.failed:
            return
        self.failed = message
        log.error("recording stopped: %s", message)
        if self._on_error is not None:
            self._on_error(message)

    def close(self) -> None:
        """Even out the tracks, finish the mix and close the files."""
        with self._lock:
            if self._closed:
                return
            if not self.failed:
                end = max(w.samples for w in self._wavs.values())
                self.advance(end)
                self.meta["duration"] = round(end / SAMPLE_RATE, 3)
                self._save_transcript()
            self._closed = True
            for w in (*self._wavs.values(), *self._side.values(), self._mix):
                w.close()


def folder_error(exc: OSError, folder: Path) -> str:
    """A message for a session folder that cannot be made or written."""
    return (f"cannot record into {folder} ({exc.strerror or exc}); choose another --out folder "
            "that you can write")


def prepare_folder(folder: str | Path, *, replace: bool = False) -> Path:
    """Check, before any model is loaded, that a session can be recorded into `folder`.

    The folder is created and a probe file written and removed in it. Raises `UserError` when it
    already holds a session (unless `replace`), is a file, or cannot be written.
    """
    import tempfile

    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise UserError(f"{folder} is a file, not a folder; give --out a folder for the session")
    if not replace and holds_session(folder):
        raise existing_session_error(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        raise UserError(folder_error(exc, folder)) from None
    return folder


def discard_unused(folder: str | Path) -> None:
    """Remove `folder` if it is empty (made by `prepare_folder` for a session that never began)."""
    try:
        Path(folder).rmdir()
    except OSError:  # not empty, or already gone: leave it
        pass


def speaker_names(data: dict) -> dict[str, str]:
    return {"character": data.get("character", {}).get("name", "Character") if isinstance(
        data.get("character"), dict) else str(data.get("character", "Character")),
        "person": data.get("person_name", "You")}


def write_subtitles(folder: Path, data: dict) -> None:
    """Write transcript.srt and transcript.vtt from a transcript dict (atomically)."""
    cue_list = cues(data.get("turns", []), speaker_names(data))
    write_atomic(folder / "transcript.srt", to_srt(cue_list))
    write_atomic(folder / "transcript.vtt", to_vtt(cue_list))
