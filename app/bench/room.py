"""Simulated rooms for the echo bench and the reverberant sound-card test.

What reaches the microphone when the speakers play `x`: a loudspeaker (optionally soft-clipping),
the room's impulse response (direct path, early reflections, an exponentially decaying diffuse
tail of the given RT60), a delay the canceller is not told (optionally drifting, as when the
sound card's and the microphone's clocks differ), a level, and background noise. Everything is
generated from a seed, so a bench run is repeatable to the sample.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from app.core import SAMPLE_RATE


@dataclass(frozen=True)
class Room:
    """One echo path from the speakers to the microphone."""

    name: str  # shown in the bench table
    rt60_s: float = 0.0  # reverberation time; 0: direct path and one reflection only (dry)
    drr_db: float = 6.0  # direct-to-reverberant energy ratio of the response
    delay_ms: float = 30.0  # acoustic + converter delay the canceller is not told
    drift_ms: float = 0.0  # the delay grows by this much over `drift_over_s` (clock drift)
    drift_over_s: float = 60.0  # the time over which `drift_ms` accumulates
    clip_drive: float = 0.0  # loudspeaker soft clipping: tanh(drive x) / drive; 0: linear
    echo_db: float = -6.0  # the echo's level relative to what is played (energy of the path)
    noise_db: float | None = None  # background noise relative to the echo's level; None: none


ROOMS = {
    "dry": Room("dry", rt60_s=0.0),
    "office": Room("office", rt60_s=0.35, drr_db=4.0),
    "reverberant": Room("reverberant", rt60_s=0.9, drr_db=-3.0),
    "drift": Room("office, delay drifting 20 ms/min", rt60_s=0.35, drr_db=4.0, drift_ms=20.0),
    "clipping": Room("office, soft-clipping loudspeaker", rt60_s=0.35, drr_db=4.0,
                     clip_drive=3.0),
    "noise": Room("office, background noise -20 dB", rt60_s=0.35, drr_db=4.0, noise_db=-20.0),
    "hard": Room("reverberant + drift + clipping + noise", rt60_s=0.9, drr_db=-3.0,
                 drift_ms=20.0, clip_drive=3.0, noise_db=-20.0),
}


def impulse_response(room: Room, seed: int = 0, rate: int = SAMPLE_RATE) -> np.ndarray:
    """The room's response [L] (direct path at sample 0), unit energy."""
    rng = np.random.default_rng(seed)
    if room.rt60_s <= 0:
        h = np.zeros(int(0.005 * rate))
        h[0] = 1.0
        h[int(0.003 * rate)] = 0.3  # the desk under a laptop
        return h / np.sqrt(np.sum(h * h))
    n = int(room.rt60_s * rate)  # the tail to -60 dB
    t = np.arange(n) / rate
    tail = rng.standard_normal(n) * np.exp(-6.9 * t / room.rt60_s)
    tail[: int(0.004 * rate)] = 0.0  # the diffuse part starts after the first reflections
    early = np.zeros(n)
    for _ in range(6):
        at = int(rng.uniform(0.002, 0.025) * rate)
        early[at] += rng.choice([-1.0, 1.0]) * rng.uniform(0.2, 0.5)
    tail = tail + early
    tail *= np.sqrt(10 ** (-room.drr_db / 10) / np.sum(tail * tail))  # reverberant energy
    tail[0] = 1.0  # direct path, unit energy
    return tail / np.sqrt(np.sum(tail * tail))


def _convolve(x: np.ndarray, h: np.ndarray) -> np.ndarray:
    n = len(x) + len(h) - 1
    size = 1 << (n - 1).bit_length()
    y = np.fft.irfft(np.fft.rfft(x, size) * np.fft.rfft(h, size), size)
    return y[: len(x)]


def loudspeaker(x: np.ndarray, drive: float) -> np.ndarray:
    """A loudspeaker that soft-clips its peaks (tanh); linear when `drive` is 0."""
    if drive <= 0:
        return x
    return np.tanh(drive * x) / drive


def delayed(x: np.ndarray, room: Room, rate: int = SAMPLE_RATE) -> np.ndarray:
    """`x` delayed by the room's delay, growing linearly by `drift_ms` per `drift_over_s`
    (fractional delays by linear interpolation)."""
    t = np.arange(len(x)) / rate
    d = (room.delay_ms + room.drift_ms * t / room.drift_over_s) / 1000
    return np.interp(t - d, t, x, left=0.0).astype(np.float32)


def echo_of(played: np.ndarray, room: Room, seed: int = 0, rate: int = SAMPLE_RATE) -> np.ndarray:
    """What the microphone hears of `played` ([N] float32) in `room`, without noise."""
    y = _convolve(loudspeaker(played.astype(np.float64), room.clip_drive),
                  impulse_response(room, seed, rate))
    return (10 ** (room.echo_db / 20) * delayed(y, room, rate)).astype(np.float32)


def background_noise(n: int, rms: float, seed: int = 0) -> np.ndarray:
    """Steady noise of the given RMS, falling at 3 dB per octave (pink-ish, like a fan)."""
    rng = np.random.default_rng(seed + 1000)
    size = 1 << (max(n, 2) - 1).bit_length()
    spec = np.fft.rfft(rng.standard_normal(size))
    f = np.arange(len(spec), dtype=np.float64)
    spec /= np.sqrt(np.maximum(f, 1.0))
    y = np.fft.irfft(spec, size)[:n]
    return (rms * y / (np.sqrt(np.mean(y * y)) + 1e-12)).astype(np.float32)


class StreamingRoom:
    """The room applied to a stream chunk by chunk (a live echo path): loudspeaker, response and
    a fixed delay, by overlap-add. No drift; noise is left to the caller."""

    def __init__(self, room: Room, seed: int = 0, rate: int = SAMPLE_RATE) -> None:
        h = impulse_response(room, seed, rate) * 10 ** (room.echo_db / 20)
        self._h = np.concatenate([np.zeros(int(round(room.delay_ms / 1000 * rate))), h])
        self._drive = room.clip_drive
        self._tail = np.zeros(len(self._h) - 1)  # what earlier chunks still add to later ones
        self._spectra: dict[int, np.ndarray] = {}  # FFT size -> the response's spectrum

    def process(self, x: np.ndarray) -> np.ndarray:
        """The echo of chunk `x` ([N]) as heard at the microphone ([N] float32)."""
        x = loudspeaker(np.asarray(x, dtype=np.float64).reshape(-1), self._drive)
        n = len(x)
        if not n:
            return np.zeros(0, np.float32)
        size = 1 << (n + len(self._h) - 2).bit_length()
        if size not in self._spectra:
            self._spectra[size] = np.fft.rfft(self._h, size)
        full = np.fft.irfft(np.fft.rfft(x, size) * self._spectra[size], size)
        full = full[: n + len(self._h) - 1]
        full[: len(self._tail)] += self._tail
        self._tail = full[n:].copy()
        return full[:n].astype(np.float32)
