"""Voice activity: the Silero VAD model that faster-whisper ships, run on a live 16 kHz stream.

`SileroVad` scores 512-sample windows (32 ms), carrying the model's recurrent state from call to
call, so feeding audio piece by piece gives exactly the scores of feeding it whole.
`StreamingVad` turns the scores into events: `SpeechStart` once enough speech has been heard,
and `SpeechEnd` (the end of the person's turn) once the silence after it lasts long enough.
`detect_speech` runs the same machinery over a whole recording.

Positions are 16 kHz sample indices counted from the first sample fed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from app.core import ASR_RATE

WINDOW = 512  # samples the model scores at a time (32 ms)
_CONTEXT = 64  # samples of the previous window the model sees in front of each window


@dataclass(frozen=True)
class VadConfig:
    """When speech starts and when a turn ends."""

    threshold: float = 0.5  # a window scoring at least this is speech
    neg_threshold: float | None = None  # below this is silence; None: threshold - 0.15
    min_speech_ms: int = 250  # speech shorter than this (a cough, a click) is ignored
    end_silence_ms: int = 500  # silence after speech that ends the turn
    max_speech_s: float = 30.0  # a turn is cut here even without a pause (Whisper's window)

    @property
    def off_threshold(self) -> float:
        """The score below which a window counts as silence."""
        if self.neg_threshold is not None:
            return self.neg_threshold
        return max(0.01, self.threshold - 0.15)


@dataclass(frozen=True)
class SpeechStart:
    """Speech has begun (reported once `min_speech_ms` of it was heard)."""

    start: int  # 16 kHz sample where the speech began


@dataclass(frozen=True)
class SpeechEnd:
    """A stretch of speech is over: the turn ended, or the input did."""

    start: int  # 16 kHz sample where the speech began
    end: int  # 16 kHz sample just after the last speech window


def silero_model_path() -> str:
    """Path of the Silero ONNX model inside the installed faster-whisper."""
    from faster_whisper.utils import get_assets_path

    assets = get_assets_path()
    names = sorted(n for n in os.listdir(assets) if n.startswith("silero") and n.endswith(".onnx"))
    if not names:
        raise FileNotFoundError(f"no Silero VAD model in {assets}; reinstall faster-whisper")
    return os.path.join(assets, names[-1])


class SileroVad:
    """Streaming speech probabilities from the Silero model.

    Args:
        model_path: the ONNX file; None for the one faster-whisper ships.
    """

    def __init__(self, model_path: str | None = None) -> None:
        import onnxruntime

        opts = onnxruntime.SessionOptions()
        opts.inter_op_num_threads = 1
        opts.intra_op_num_threads = 1
        opts.log_severity_level = 4
        self._session = onnxruntime.InferenceSession(
            model_path or silero_model_path(),
            sess_options=opts,
            providers=["CPUExecutionProvider"],
        )
        self.reset()

    def reset(self) -> None:
        """Forget the past: the next window is scored as the start of a new stream."""
        self._h = np.zeros((1, 1, 128), dtype=np.float32)
        self._c = np.zeros((1, 1, 128), dtype=np.float32)
        self._context = np.zeros(_CONTEXT, dtype=np.float32)

    def __call__(self, windows: np.ndarray) -> np.ndarray:
        """Score consecutive windows: [K * 512] float32 at 16 kHz -> [K] probabilities."""
        x = np.asarray(windows, dtype=np.float32).reshape(-1, WINDOW)
        if len(x) == 0:
            return np.zeros(0, dtype=np.float32)
        ctx = np.concatenate([self._context[None], x[:-1, -_CONTEXT:]], axis=0)
        probs, self._h, self._c = self._session.run(
            None, {"input": np.concatenate([ctx, x], axis=1), "h": self._h, "c": self._c}
        )
        self._context = x[-1, -_CONTEXT:].copy()
        return np.asarray(probs, dtype=np.float32).reshape(-1)


class StreamingVad:
    """Speech start / end-of-turn events from a live 16 kHz stream. One thread only.

    Args:
        config: thresholds and durations.
        model: the scorer; None loads `SileroVad()`.
    """

    def __init__(self, config: VadConfig = VadConfig(), model: SileroVad | None = None) -> None:
        self.config = config
        self.model = model or SileroVad()
        self._min_speech = config.min_speech_ms * ASR_RATE // 1000
        self._end_silence = config.end_silence_ms * ASR_RATE // 1000
        self._max_speech = int(config.max_speech_s * ASR_RATE)
        self.reset()

    def reset(self) -> None:
        """Start over at sample 0 with a fresh model state."""
        self.model.reset()
        self._pending = np.zeros(0, dtype=np.float32)
        self._pos = 0  # sample index of the next window
        self._start: int | None = None  # where the current stretch of speech began
        self._last_speech_end = 0  # end of the last speech window in the current stretch
        self._speech = 0  # samples of speech heard in the current stretch
        self._announced = False  # SpeechStart sent for the current stretch

    @property
    def in_speech(self) -> bool:
        """Whether a stretch of speech is open (announced or not yet)."""
        return self._start is not None

    @property
    def open_start(self) -> int | None:
        """Where the open stretch of speech began, or None outside speech."""
        return self._start

    @property
    def position(self) -> int:
        """Samples consumed so far (scored in whole windows)."""
        return self._pos

    def feed(self, audio: np.ndarray) -> list[SpeechStart | SpeechEnd]:
        """Consume 16 kHz samples; return the events they complete, in order."""
        x = np.concatenate([self._pending, np.asarray(audio, dtype=np.float32).reshape(-1)])
        whole = len(x) // WINDOW * WINDOW
        self._pending = x[whole:].copy()
        events: list[SpeechStart | SpeechEnd] = []
        if whole == 0:
            return events
        for p in self.model(x[:whole]):
            self._step(float(p), events)
        return events

    def flush(self) -> list[SpeechEnd]:
        """End of input: close a stretch of speech that is still open (if long enough)."""
        events: list = []
        if self._start is not None and self._speech >= self._min_speech:
            events.append(SpeechEnd(self._start, self._last_speech_end))
        self._start = None
        self._speech = 0
        self._announced = False
        return events

    def _step(self, p: float, events: list) -> None:
        cfg = self.config
        begin, end = self._pos, self._pos + WINDOW
        self._pos = end
        if self._start is None:
            if p >= cfg.threshold:
                self._start, self._last_speech_end, self._speech = begin, end, WINDOW
                self._announced = False
                self._maybe_announce(events, begin)
            return
        if p >= cfg.off_threshold:  # still speaking (hysteresis: above the lower threshold)
            self._speech += WINDOW
            self._last_speech_end = end
            self._maybe_announce(events, self._start)
            if end - self._start >= self._max_speech and self._announced:
                events.append(SpeechEnd(self._start, end))
                self._start = None
            return
        if end - self._last_speech_end >= self._end_silence:
            if self._announced:
                events.append(SpeechEnd(self._start, self._last_speech_end))
            self._start = None  # too short to be speech otherwise: dropped silently

    def _maybe_announce(self, events: list, start: int) -> None:
        """Report the stretch of speech that began at sample `start` once it is long enough."""
        if not self._announced and self._speech >= self._min_speech:
            self._announced = True
            events.append(SpeechStart(start))


def detect_speech(
    audio: np.ndarray, config: VadConfig = VadConfig(), model: SileroVad | None = None
) -> list[tuple[int, int]]:
    """Speech stretches of a whole 16 kHz recording as (start, end) sample pairs."""
    vad = StreamingVad(config, model)
    events = vad.feed(audio) + vad.flush()
    return [(e.start, e.end) for e in events if isinstance(e, SpeechEnd)]
