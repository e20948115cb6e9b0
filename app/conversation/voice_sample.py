"""A character's voice sample: check a recording, store it, and point the character file at it.

`save_voice_sample(key, audio24k)` writes the audio to `<user characters>/voices/<key>.wav`
(atomically) and gives the user's character file a `[voice]` table naming it. A shipped
character is first copied into the user's folder (its text, comments included), so the user's
copy wins over the shipped one from then on. Only the `[voice]` table is replaced; every other
line of the file stays as it was. The new file is checked with `load_character`; when that fails
the previous file and sample are put back, so nothing is left half-written.

No Qt here: the voice dialog (app/ui/voice_dialog.py) calls this.
"""

from __future__ import annotations

import json
import logging
import re
import tomllib
from pathlib import Path

import numpy as np

from app.atomic import write_atomic
from app.audio.files import write_audio
from app.conversation.character import character_files, load_character
from app.core import SAMPLE_RATE
from app.errors import UserError
from app.paths import user_characters_dir

log = logging.getLogger(__name__)

MIN_SECONDS = 2.0  # shorter samples give Dia2 too little to imitate
MAX_SECONDS = 30.0  # longer samples crowd the prefix out of the model's context
SILENCE_PEAK = 0.02  # a sample whose loudest point stays below this (about -34 dBFS) is silent
TRIM_LEVEL = 0.01  # trim_silence: blocks quieter than this (RMS) count as silence
TRIM_MARGIN_S = 0.15  # trim_silence: silence kept before and after the sound

_HEADER = re.compile(r"""^\s*\[\[?\s*[A-Za-z0-9_\-."' ]+\s*\]\]?\s*(#.*)?$""")
_VOICE_HEADER = re.compile(r"""^\s*\[\s*(voice|"voice"|'voice')\s*\]\s*(#.*)?$""")
_KEY_CHARS = re.compile(r"^[A-Za-z0-9_-]+$")


def check_voice_audio(audio24k: np.ndarray) -> np.ndarray:
    """The sample as mono float32 [N] at 24 kHz, or a `UserError` saying what to change."""
    x = np.asarray(audio24k, dtype=np.float32).reshape(-1)
    seconds = len(x) / SAMPLE_RATE
    if seconds < MIN_SECONDS:
        raise UserError(f"the voice sample is {seconds:.1f} s long; record or import at least "
                        f"{MIN_SECONDS:.0f} s of clear speech")
    if seconds > MAX_SECONDS:
        raise UserError(f"the voice sample is {seconds:.1f} s long; keep it under "
                        f"{MAX_SECONDS:.0f} s (trim the recording, or record a shorter one)")
    if not np.all(np.isfinite(x)):
        raise UserError("the voice sample holds invalid samples (NaN or infinity); record it again")
    if float(np.abs(x).max()) < SILENCE_PEAK:
        raise UserError("the voice sample is silent; check that the right microphone is chosen "
                        "and not muted, speak closer to it, or import a recording instead")
    return x


def trim_silence(audio24k: np.ndarray, level: float = TRIM_LEVEL,
                 margin_s: float = TRIM_MARGIN_S) -> np.ndarray:
    """Drop leading and trailing silence (20 ms blocks with RMS below `level`), keeping
    `margin_s` seconds on each side. All-silent audio comes back unchanged. [N] -> [M]."""
    x = np.asarray(audio24k, dtype=np.float32).reshape(-1)
    block = SAMPLE_RATE // 50
    n = len(x) // block
    if n == 0:
        return x
    rms = np.sqrt(np.mean(np.square(x[: n * block].reshape(n, block), dtype=np.float64), axis=1))
    loud = np.nonzero(rms >= level)[0]
    if len(loud) == 0:
        return x
    margin = round(margin_s * SAMPLE_RATE)
    start = max(0, int(loud[0]) * block - margin)
    end = min(len(x), (int(loud[-1]) + 1) * block + margin)
    if int(loud[-1]) == n - 1:
        end = len(x)  # the tail shorter than a block was not measured: keep it
    return x[start:end]


def _toml_string(text: str) -> str:
    # JSON's escapes (\" \\ \n \uXXXX) are all valid in a TOML basic string
    return json.dumps(text, ensure_ascii=False)


def _voice_table(sample: str, transcript: str | None) -> str:
    lines = ["[voice]", f"sample = {_toml_string(sample)}"]
    if transcript:
        lines.append(f"transcript = {_toml_string(transcript)}")
    return "\n".join(lines) + "\n"


def replace_voice_table(text: str, table: str) -> str:
    """`text` (a character file) with its `[voice]` table replaced by `table`, or `table`
    appended when it has none. The other lines are kept verbatim; the result is checked to
    differ from the input only in `voice` (else a `UserError`: the file needs editing by hand)."""
    lines = text.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if _VOICE_HEADER.match(line)), None)
    if start is None:
        body = text if not text or text.endswith("\n") else text + "\n"
        new = body + ("\n" if body.strip() else "") + table
    else:
        end = next((j for j in range(start + 1, len(lines)) if _HEADER.match(lines[j])), len(lines))
        # comments and blank lines just above the next table belong to that table
        while end > start + 1 and (not lines[end - 1].strip() or lines[end - 1].lstrip().startswith("#")):
            end -= 1
        tail = lines[end:]
        gap = "\n" if tail and tail[0].strip() else ""
        new = "".join(lines[:start]) + table + gap + "".join(tail)
    try:
        before, after = tomllib.loads(text), tomllib.loads(new)
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"cannot add the voice to the character file automatically ({exc}); "
                        "add a [voice] table with sample = \"voices/<name>.wav\" by hand") from None
    before.pop("voice", None)
    new_voice = after.pop("voice", None)
    if before != after or new_voice != tomllib.loads(table)["voice"]:
        raise UserError("cannot add the voice to the character file automatically (its [voice] "
                        "entries are spread out); remove them and try again, or add a [voice] "
                        "table with sample = \"voices/<name>.wav\" by hand")
    return new


def _restore(path: Path, old: bytes | None) -> None:
    try:
        if old is None:
            path.unlink(missing_ok=True)
        else:
            path.write_bytes(old)
    except OSError as exc:
        log.error("could not restore %s: %s", path, exc)


def save_voice_sample(character_key: str, audio24k: np.ndarray,
                      transcript: str | None = None) -> Path:
    """Store `audio24k` ([N] float32 at 24 kHz, 2 to 30 s of sound) as the voice of character
    `character_key` and return the user's character file that now names it.

    A shipped character is copied into `user_characters_dir()` first. Raises `UserError` for an
    unusable sample, an unknown character, or a file that cannot be written; the files on disk
    are then as they were.
    """
    audio = check_voice_audio(audio24k)
    key = character_key.strip().lower()
    if not _KEY_CHARS.match(key):
        raise UserError(f"cannot store a voice for {character_key!r}: use a character name made of "
                        "letters, digits, '-' and '_'")
    folder = user_characters_dir()
    files = character_files()
    if key not in files:
        known = ", ".join(sorted(files)) or "none"
        raise UserError(f"no character called {character_key!r}; known: {known}")
    source = files[key]
    in_user_dir = source.parent.resolve() == folder.resolve() if folder.is_dir() else False
    toml_path = source if in_user_dir else folder / f"{key}.toml"
    try:
        text = source.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"cannot read the character file {source}: {exc}") from None
    sample_rel = f"voices/{key}.wav"
    new_text = replace_voice_table(text, _voice_table(sample_rel, (transcript or "").strip() or None))

    wav_path = folder / "voices" / f"{key}.wav"
    old_toml = toml_path.read_bytes() if toml_path.is_file() else None
    old_wav = wav_path.read_bytes() if wav_path.is_file() else None
    try:
        wav_path.parent.mkdir(parents=True, exist_ok=True)
        write_audio(wav_path, np.clip(audio, -1.0, 1.0), SAMPLE_RATE, subtype="PCM_16")
        write_atomic(toml_path, new_text)
        load_character(toml_path)
    except OSError as exc:
        _restore(wav_path, old_wav)
        _restore(toml_path, old_toml)
        raise UserError(f"cannot save the voice sample in {folder}: {exc.strerror or exc}; check "
                        "that the folder is writable and the disk is not full") from None
    except UserError as exc:
        _restore(wav_path, old_wav)
        _restore(toml_path, old_toml)
        raise UserError(f"the voice was not saved, the character file would be broken: {exc}") from None
    log.info("voice sample of %r saved to %s (%.1f s)", key, wav_path, len(audio) / SAMPLE_RATE)
    return toml_path
