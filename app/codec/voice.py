"""Turn a voice-sample file into what Mimi takes: float32 mono samples at 24 kHz.

Converts what can be converted (several channels are averaged, other sample rates are resampled
with soxr, peaks beyond full scale are scaled down) and refuses the rest with a message that says
what to do: a missing file, a file that is not audio, an empty or silent recording.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from app.core import FRAME_SAMPLES, SAMPLE_RATE
from app.errors import UserError

log = logging.getLogger(__name__)

SILENCE_PEAK = 1e-3  # a recording whose peak stays below this (-60 dBFS) counts as silent
MIN_SECONDS = 1.0  # shorter recordings hold no whole word to condition the voice on


def prepare_voice(path: str | Path, *, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Read an audio file and return float32 mono samples `[samples]` at `sample_rate` Hz.

    Raises UserError for a missing, unreadable, empty, too short (under `MIN_SECONDS`) or silent
    file.
    """
    path = Path(path)
    if not path.is_file():
        raise UserError(f"voice file not found: {path}")
    try:
        data, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, TypeError) as exc:
        raise UserError(
            f"{path} is not an audio file that can be read ({exc}); use WAV, FLAC, OGG or MP3."
        ) from exc
    if data.shape[0] == 0:
        raise UserError(f"{path} holds no audio samples; record a few seconds of speech.")
    if data.shape[1] > 1:
        log.info("%s: mixing %d channels down to mono", path, data.shape[1])
    mono = data.mean(axis=1, dtype=np.float32)
    if not np.isfinite(mono).all():
        raise UserError(f"{path} contains NaN or infinite samples; re-export the recording.")
    if rate != sample_rate:
        log.info("%s: resampling %d Hz -> %d Hz", path, rate, sample_rate)
        mono = soxr.resample(mono, rate, sample_rate, quality="HQ").astype(np.float32)
    if mono.shape[0] < max(FRAME_SAMPLES * sample_rate // SAMPLE_RATE, MIN_SECONDS * sample_rate):
        raise UserError(
            f"{path} is only {mono.shape[0] / sample_rate * 1000:.0f} ms long; "
            "a voice sample needs a few seconds of speech."
        )
    peak = float(np.abs(mono).max())
    if peak < SILENCE_PEAK:
        raise UserError(
            f"{path} is silent (peak {20 * np.log10(max(peak, 1e-12)):.0f} dBFS); "
            "check the microphone and record again."
        )
    if peak > 1.0:
        mono = mono / peak
    return np.ascontiguousarray(mono, dtype=np.float32)
