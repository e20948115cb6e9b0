"""Barge-in: deciding that the person speaks over the character, not the character's own echo.

The character's voice comes back into the microphone through the speakers. The detector knows
what was played (`PlayedHistory`, filled by `TappedSink`) and where playback was when each
microphone chunk was captured, and works on short-time power spectra (40 ms Hann frames, one per
chunk, 150 Hz - 5 kHz):

1. **Echo delay.** For every candidate delay in `[-window_s, +window_s]` (5 ms steps) it takes the
   played frame at that delay and scores how well its magnitude spectrum matches the microphone's
   (cosine similarity, averaged over the last half second of frames in which both carry sound).
   The best-scoring delay is the echo path's delay: whatever the speaker-to-microphone latency,
   it is found from the signals themselves.
2. **Echo gain.** Per frequency, the echo's power relative to the played power at that delay is
   estimated by least squares over recent frames that looked like echo alone (smoothed across
   neighbouring frequencies; starting from `echo_gain`). Until the first half second of echo has
   been measured, the prediction uses the loudest played spectrum at any delay (conservative),
   and every frame teaches the gain.
3. **Prediction and residual.** The expected echo spectrum is that gain times the played power
   at the delay (the loudest of the neighbouring delays, for jitter, with a short decaying tail
   for reverberation). The person's share of a frame is the microphone power that exceeds the
   expected echo by `echo_margin_db`, bin by bin, as a fraction of the frame's power. The person's
   voice has other harmonics and formants than the character's, so it shows up in bins where the
   echo is weak, even when both are equally loud overall.
4. **Decision.** A frame counts when that share is at least `person_share`, the microphone is
   above `floor_rms` and voice activity is detected; the detector fires once `min_speech_s` of
   such frames have accumulated (a frame that does not count takes back half its length, so a
   syllable of echo inside the person's speech does not reset the count).

This is echo *suppression* by spectral comparison, not sample-exact cancellation: it does not
need the delay to the sample, tolerates clock jitter between the microphone and the speaker, and
costs a few batched FFTs per 20 ms. With headphones there is no echo: `headphones=True` turns the
comparison off and any detected speech interrupts.

In the live session WebRTC's canceller (`app.audio.echo`) normally cleans the microphone first,
and this gate judges the cleaned signal (docs/benchmarks.md: that pair had no false interruption
in any simulated room but the hardest). There the gate finds almost no echo to learn from (it
learns only from frames above `floor_rms`), so its prediction stays near the conservative prior:
the person must stand out of a full-level echo. That is what keeps the canceller's residual
echo bursts from interrupting; letting it learn from quiet frames made it faster but no safer
than "any speech on the cleaned signal" (measured, not kept).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from app.conversation.sinks import PausableSink
from app.core import SAMPLE_RATE

_FRAME = 960  # 40 ms analysis frame
_NFFT = 1024
_LAG_STEP = 120  # 5 ms between candidate delays
_LO, _HI = 150.0, 5000.0  # the band compared (Hz)
_LEARN_FIRST = SAMPLE_RATE // 2  # the first half second of echo always teaches the gain


@dataclass(frozen=True)
class BargeInConfig:
    """When the person's voice interrupts the character."""

    headphones: bool = False  # no echo: any detected speech interrupts
    echo_gain: float = 1.0  # the echo's gain assumed before it is measured (0 dB: loud speakers)
    echo_margin_db: float = 6.0  # a bin counts as the person's when this much above the echo
    window_s: float = 0.25  # the echo's delay is searched within +- this around the playhead
    min_speech_s: float = 0.15  # this much of the person's speech over the echo interrupts
    hold_s: float = 0.04  # this much over the echo, voice activity or not, holds playback
    person_share: float = 0.4  # fraction of a frame's power above the echo for it to count
    floor_rms: float = 0.005  # microphone levels below this are silence


class PlayedHistory:
    """The last `seconds` of the pushed playback stream, by pushed-sample position."""

    def __init__(self, seconds: float = 10.0) -> None:
        self._buf = np.zeros(int(seconds * SAMPLE_RATE), dtype=np.float32)
        self.end = 0  # pushed position after the newest sample held

    def add(self, start: int, samples: np.ndarray) -> None:
        x = np.asarray(samples, dtype=np.float32).reshape(-1)
        n = len(self._buf)
        if len(x) >= n:
            x, start = x[-n:], start + len(x) - n
        idx = (np.arange(len(x)) + start) % n
        self._buf[idx] = x
        self.end = max(self.end, start + len(x))

    def window(self, a: int, b: int) -> np.ndarray:
        """Samples of positions [a, b) still held (silence for positions never played)."""
        a = max(a, self.end - len(self._buf), 0)
        b = min(b, self.end)
        if b <= a:
            return np.zeros(0, dtype=np.float32)
        return self._buf[np.arange(a, b) % len(self._buf)]

    def at(self, positions: np.ndarray) -> np.ndarray:
        """The samples at integer `positions` ([N]); silence where nothing is held."""
        p = np.asarray(positions, dtype=np.int64)
        held = (p >= max(self.end - len(self._buf), 0)) & (p < self.end)
        return np.where(held, self._buf[p % len(self._buf)], np.float32(0.0)).astype(np.float32)

    def span(self, a: int, b: int) -> np.ndarray:
        """Exactly `b - a` samples for positions [a, b), silence where nothing is held."""
        out = np.zeros(max(0, b - a), dtype=np.float32)
        lo = max(a, self.end - len(self._buf), 0)
        hi = min(b, self.end)
        if hi > lo:
            out[lo - a : hi - a] = self._buf[np.arange(lo, hi) % len(self._buf)]
        return out


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(x * x))) if len(x) else 0.0


class BargeInDetector:
    """Feed it microphone chunks while the character speaks; it says when to interrupt.

    One thread only (the capture reader's). `delay_s` and `echo_gain_db` report the echo path as
    measured so far (for logs and diagnostics).
    """

    def __init__(self, config: BargeInConfig, history: PlayedHistory) -> None:
        self.config = config
        self.history = history
        freqs = np.fft.rfftfreq(_NFFT, 1 / SAMPLE_RATE)
        self._band = (freqs >= _LO) & (freqs <= _HI)
        self._win = np.hanning(_FRAME).astype(np.float32)
        self._reach = int(config.window_s * SAMPLE_RATE) // _LAG_STEP * _LAG_STEP
        self._lags = np.arange(-self._reach, self._reach + 1, _LAG_STEP)
        self._margin = 10 ** (config.echo_margin_db / 10)
        nb = int(self._band.sum())
        self._score = np.zeros(len(self._lags))  # delay candidates' running spectral match
        g0 = config.echo_gain**2
        self._num = np.full(nb, g0 * 1e-6)  # least-squares echo gain per bin: num / den
        self._den = np.full(nb, 1e-6)
        self._tail = np.zeros(nb)  # the expected echo's decaying tail
        self._mic = np.zeros(_FRAME, dtype=np.float32)  # the last frame of microphone audio
        self._run = 0.0  # samples of the person's speech counted towards `min_speech_s`
        self._held = 0.0  # samples in a row standing out of the echo (voice activity or not)
        self._learned = 0  # samples of echo the gain has been learnt from

    @property
    def delay_s(self) -> float:
        """The echo delay the detector currently believes, relative to the playhead (s)."""
        return float(self._lags[int(np.argmax(self._score))]) / SAMPLE_RATE

    @property
    def echo_gain_db(self) -> float:
        """The echo's measured power gain, averaged over the band (dB)."""
        return float(10 * np.log10(max(np.mean(self._num / self._den), 1e-12)))

    def reset(self) -> None:
        """Forget the current count (the echo path's estimates are kept)."""
        self._run = self._held = 0.0

    def _spectra(self, frames: np.ndarray) -> np.ndarray:
        spec = np.fft.rfft(frames * self._win, _NFFT, axis=-1)
        return (spec.real**2 + spec.imag**2)[..., self._band]

    def feed(self, mic24k: np.ndarray, position: float, speaking: bool, voice: bool) -> bool:
        """One microphone chunk (24 kHz) whose last sample was captured while playback was at
        pushed sample `position`. `speaking`: the character is talking; `voice`: voice activity
        is detected now. Returns True when the person is interrupting.
        """
        x = np.asarray(mic24k, dtype=np.float32).reshape(-1)
        n = len(x)
        if n >= _FRAME:
            self._mic = x[-_FRAME:].copy()
        elif n:
            self._mic = np.concatenate([self._mic[n:], x])
        if not speaking:
            self._run = self._held = 0.0
            return False
        level = _rms(x)
        if self.config.headphones:
            counts = level > self.config.floor_rms
        else:
            counts = level > self.config.floor_rms and self._person(int(position), n)
        self._held = self._held + n if counts else 0.0
        if voice and counts:
            self._run += n
        else:
            self._run = max(0.0, self._run - n / 2) if voice else 0.0
        return self._run >= self.config.min_speech_s * SAMPLE_RATE

    @property
    def suspects(self) -> bool:
        """The last `hold_s` of microphone chunks all stood out of the echo: perhaps the person.
        Before voice activity can confirm it, the caller may hold playback."""
        return self._held >= self.config.hold_s * SAMPLE_RATE

    def _person(self, position: int, n: int) -> bool:
        """Echo analysis of the current frame; True if the person's share is large enough."""
        pm = self._spectra(self._mic)
        # the played frames at every candidate delay, from one stretch of the history
        first = position - self._reach - _FRAME
        ref = self.history.span(first, position + self._reach)
        idx = (2 * self._reach - (self._lags + self._reach))  # offset of each lag's frame
        frames = np.lib.stride_tricks.sliding_window_view(ref, _FRAME)[idx]
        px = self._spectra(frames)  # [lags, bins]
        mic_power = float(pm.sum())
        ref_power = px.sum(axis=1)
        if mic_power <= 0:
            return False
        # 1. delay: running spectral similarity, updated when both carry sound
        if ref_power.max() > 0:
            am, ax = np.sqrt(pm), np.sqrt(px)
            sim = (ax @ am) / (np.linalg.norm(ax, axis=1) * np.linalg.norm(am) + 1e-20)
            decay = np.exp(-n / (0.5 * SAMPLE_RATE))
            self._score = decay * self._score + (1 - decay) * sim
        best = int(np.argmax(self._score))
        if self._learned < _LEARN_FIRST:  # delay not known yet: the loudest at any delay
            near = px.max(axis=0)
        else:
            near = px[max(0, best - 1) : best + 2].max(axis=0)
        # 3. prediction and residual
        gain = self._smooth(self._num) / self._smooth(self._den)
        tail = self._tail * np.exp(-n / (0.06 * SAMPLE_RATE))
        echo = np.maximum(gain * near, tail)
        self._tail = echo
        share = float(np.maximum(pm - self._margin * echo, 0).sum()) / mic_power
        person = share >= self.config.person_share
        # 2. gain: least squares over frames that look like echo alone
        if not person or self._learned < _LEARN_FIRST:
            self._learned += n
            a = np.exp(-n / (1.0 * SAMPLE_RATE))
            ref_best = px[best]
            self._num = a * self._num + (1 - a) * pm * ref_best
            self._den = a * self._den + (1 - a) * ref_best * ref_best
        return person

    @staticmethod
    def _smooth(v: np.ndarray) -> np.ndarray:
        k = np.ones(9) / 9
        return np.convolve(v, k, mode="same") + 1e-20


class TappedSink:
    """A sink that also keeps what it plays in a `PlayedHistory` (for the echo gate)."""

    def __init__(self, sink: PausableSink, history: PlayedHistory) -> None:
        self.sink = sink
        self.history = history

    @property
    def pushed(self) -> int:
        return self.sink.pushed

    def write(self, pcm: np.ndarray) -> None:
        start = self.sink.pushed
        self.sink.write(pcm)
        self.history.add(start, pcm)

    def flush(self) -> None:
        self.sink.flush()

    def pause(self) -> None:
        self.sink.pause()

    def resume(self) -> None:
        self.sink.resume()

    def end(self) -> None:
        self.sink.end()

    def position(self) -> float:
        return self.sink.position()

    def heard_at(self, sample: float) -> float | None:
        return self.sink.heard_at(sample)
