"""Barge-in: deciding that the person speaks over the character, not the character's own echo.

The character's voice comes back into the microphone through the speakers. The gate compares
the microphone's level with the level of what is being played at that moment (the known
playback signal, kept in `PlayedHistory`): the person counts as speaking only while voice
activity is detected *and* the microphone is `echo_margin_db` louder than the loudest the echo
could be (`echo_gain` x the played level, looked up over a `window_s` slack for the unknown
speaker-to-microphone delay), for `min_speech_s` in a row. With headphones there is no echo:
`headphones=True` turns the gate off and any detected speech interrupts.

This is an energy gate, not echo cancellation: with loud speakers the person must speak up to
interrupt. No well-kept Python echo canceller was available to depend on (WebRTC's AEC bindings
are unmaintained), so the gate errs on the side of not interrupting.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

RATE = 24000
_BLOCK = 480  # 20 ms blocks for the played-level envelope


@dataclass(frozen=True)
class BargeInConfig:
    """When the person's voice interrupts the character."""

    headphones: bool = False  # no echo: any detected speech interrupts
    echo_gain: float = 1.0  # the loudest echo expected, relative to the played signal (0 dB)
    echo_margin_db: float = 6.0  # the microphone must be this much above the expected echo
    window_s: float = 0.25  # slack around the playback position for the echo's delay
    min_speech_s: float = 0.15  # the person must be above the gate this long in a row
    floor_rms: float = 0.005  # microphone levels below this are silence


class PlayedHistory:
    """The last `seconds` of the pushed playback stream, by pushed-sample position."""

    def __init__(self, seconds: float = 10.0) -> None:
        self._buf = np.zeros(int(seconds * RATE), dtype=np.float32)
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


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(x * x))) if len(x) else 0.0


class BargeInDetector:
    """Feed it microphone chunks while the character speaks; it says when to interrupt."""

    def __init__(self, config: BargeInConfig, history: PlayedHistory) -> None:
        self.config = config
        self.history = history
        self._run = 0  # samples in a row above the gate
        self._factor = config.echo_gain * 10 ** (config.echo_margin_db / 20)

    def reset(self) -> None:
        self._run = 0

    def echo_level(self, position: float, length: int) -> float:
        """The loudest 20 ms level played around the `length` samples heard up to `position`."""
        slack = int(self.config.window_s * RATE)
        ref = self.history.window(int(position) - length - slack, int(position) + slack)
        if not len(ref):
            return 0.0
        blocks = len(ref) // _BLOCK
        if blocks == 0:
            return _rms(ref)
        env = np.sqrt(np.mean(ref[: blocks * _BLOCK].reshape(blocks, _BLOCK) ** 2, axis=1))
        return float(env.max())

    def feed(self, mic24k: np.ndarray, position: float, speaking: bool, voice: bool) -> bool:
        """One microphone chunk (24 kHz) heard while playback was at pushed sample `position`.

        `speaking`: the character is talking; `voice`: voice activity is detected now.
        Returns True when the person is interrupting.
        """
        if not speaking:
            self._run = 0
            return False
        level = _rms(np.asarray(mic24k, dtype=np.float32))
        gate = self.config.floor_rms
        if not self.config.headphones:
            gate = max(gate, self._factor * self.echo_level(position, len(mic24k)))
        if voice and level > gate:
            self._run += len(mic24k)
        else:
            self._run = 0
        return self._run >= self.config.min_speech_s * RATE


class TappedSink:
    """A sink that also keeps what it plays in a `PlayedHistory` (for the echo gate)."""

    def __init__(self, sink, history: PlayedHistory) -> None:
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

    def end(self) -> None:
        self.sink.end()

    def position(self) -> float:
        return self.sink.position()

    def heard_at(self, sample: float) -> float | None:
        return self.sink.heard_at(sample)
