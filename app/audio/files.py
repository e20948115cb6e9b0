"""Audio files: reading anything the decoders know as mono float32, writing WAV atomically.

Reading goes through libsndfile (`soundfile`: WAV, FLAC, OGG/Vorbis/Opus, MP3, AIFF...) and falls
back to FFmpeg through PyAV (which faster-whisper already needs) for the rest (M4A, WebM...).
Writing goes to a temporary name in the same folder and is renamed into place, so a reader never
sees a half-written file and a crash leaves the old file intact.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import soundfile as sf

from app.audio.resample import resample
from app.errors import UserError

log = logging.getLogger(__name__)


def to_mono(samples: np.ndarray) -> np.ndarray:
    """Average channels: [N, C] or [N] -> [N] float32."""
    x = np.asarray(samples, dtype=np.float32)
    if x.ndim == 2:
        x = x.mean(axis=1, dtype=np.float32) if x.shape[1] > 1 else x[:, 0]
    return np.ascontiguousarray(x)


def _read_with_av(path: Path) -> tuple[np.ndarray, int]:
    import av

    parts = []
    with av.open(str(path)) as container:
        if not container.streams.audio:
            raise UserError(f"{path}: the file holds no audio stream")
        stream = container.streams.audio[0]
        rate = int(stream.rate or stream.codec_context.sample_rate)
        resampler = av.AudioResampler(format="flt", layout="mono", rate=rate)
        for frame in container.decode(stream):
            for out in resampler.resample(frame):
                parts.append(out.to_ndarray().reshape(-1))
        for out in resampler.resample(None):
            parts.append(out.to_ndarray().reshape(-1))
    data = np.concatenate(parts) if parts else np.zeros(0, np.float32)
    return data.astype(np.float32, copy=False), rate


def read_audio(path: str | os.PathLike, rate: int | None = None) -> tuple[np.ndarray, int]:
    """Read an audio file as mono float32 in [-1, 1].

    Args:
        path: the file.
        rate: resample to this rate (Hz); None keeps the file's own rate.

    Returns:
        (samples [N], rate in Hz).

    Raises:
        UserError: the file is missing, not a file, or no decoder can read it.
    """
    p = Path(path)
    if not p.exists():
        raise UserError(f"{p}: no such file")
    if not p.is_file():
        raise UserError(f"{p}: not a file")
    try:
        data, sr = sf.read(str(p), dtype="float32", always_2d=True)
        samples = to_mono(data)
    except (sf.LibsndfileError, RuntimeError, TypeError) as first:
        log.debug("libsndfile cannot read %s (%s); trying FFmpeg", p, first)
        try:
            samples, sr = _read_with_av(p)
        except UserError:
            raise
        except Exception as exc:  # PyAV raises many error types for undecodable input
            raise UserError(
                f"{p}: cannot read this as audio ({first}); use WAV, FLAC, OGG or MP3"
            ) from exc
    if rate is not None and rate != sr:
        samples, sr = resample(samples, sr, rate), rate
    return samples, int(sr)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path next to `path`; on success rename it onto `path`, else delete it."""
    from app.atomic import file_mode

    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    mode = file_mode(target)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        with open(tmp_path, "rb+") as fh:
            os.fchmod(fh.fileno(), mode)
            os.fsync(fh.fileno())
        os.replace(tmp_path, target)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def write_audio(
    path: str | os.PathLike, samples: np.ndarray, rate: int, subtype: str | None = None
) -> Path:
    """Write mono (or [N, C]) samples atomically; the format follows the file extension.

    Args:
        path: target file (.wav, .flac, .ogg...).
        samples: [N] or [N, C] float samples in [-1, 1].
        rate: sample rate in Hz.
        subtype: libsndfile subtype, e.g. "PCM_16" or "FLOAT"; None for the format's default.
    """
    target = Path(path)
    fmt = target.suffix.lstrip(".").upper() or "WAV"
    if fmt not in sf.available_formats():
        raise UserError(f"{target}: unknown audio file type {target.suffix!r}; use .wav or .flac")
    with atomic_path(target) as tmp:
        sf.write(
            str(tmp), np.asarray(samples, dtype=np.float32), int(rate), format=fmt, subtype=subtype
        )
    return target
