"""Turn endpointing: cut the microphone stream into utterances, by voice activity or push-to-talk.

Both detectors consume the reader thread's `CaptureChunk`s (or plain 16 kHz / 24 kHz arrays) and
keep a short tape of recent audio at each rate, so an utterance comes out with its audio at 16 kHz
for recognition and at 24 kHz for the Mimi encoder, plus a little audio before and after the
speech so the first and last sounds are not clipped.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass

import numpy as np

from app.asr.vad import SpeechEnd, SpeechStart, StreamingVad
from app.core import ASR_RATE, SAMPLE_RATE


def chunk_streams(chunk) -> tuple[np.ndarray, np.ndarray | None, int | None, int | None]:
    """A `CaptureChunk` as the detectors' `feed` takes it: its 16 kHz audio, its 24 kHz audio
    (None when not captured), and where each starts in its stream."""
    return (chunk.at(ASR_RATE), chunk.by_rate.get(SAMPLE_RATE), chunk.starts.get(ASR_RATE),
            chunk.starts.get(SAMPLE_RATE))


@dataclass(frozen=True)
class Utterance:
    """One turn of the person's speech.

    `offset` is where `audio16k[0]` lies in the 16 kHz capture stream; words recognised from
    `audio16k` are timed from that sample.
    """

    offset: int  # 16 kHz stream index of audio16k[0]
    speech_start: int  # 16 kHz stream index where speech began
    speech_end: int  # 16 kHz stream index where speech ended
    audio16k: np.ndarray  # [N] float32 at 16 kHz, the utterance with a little padding
    audio24k: np.ndarray  # [M] float32 at 24 kHz, the same stretch (empty if not captured)

    @property
    def duration(self) -> float:
        """Length of `audio16k` in seconds."""
        return len(self.audio16k) / ASR_RATE

    @property
    def start_seconds(self) -> float:
        """Where the utterance audio begins in the capture stream, seconds."""
        return self.offset / ASR_RATE


class _Tape:
    """Recent audio of one stream, addressable by absolute sample index."""

    def __init__(self) -> None:
        self._parts: deque[tuple[int, np.ndarray]] = deque()
        self.end = 0  # index after the last sample held

    def append(self, start: int, samples: np.ndarray) -> None:
        if len(samples):
            self._parts.append((start, samples))
            self.end = start + len(samples)

    def trim(self, keep_from: int) -> None:
        while self._parts and self._parts[0][0] + len(self._parts[0][1]) <= keep_from:
            self._parts.popleft()

    def slice(self, a: int, b: int) -> np.ndarray:
        out = [
            s[max(0, a - st) : max(0, b - st)]
            for st, s in self._parts
            if st < b and st + len(s) > a
        ]
        return np.concatenate(out) if out else np.zeros(0, dtype=np.float32)


class _Recorder:
    """Tapes at 16 and 24 kHz fed from chunks or arrays."""

    def __init__(self) -> None:
        self.t16 = _Tape()
        self.t24 = _Tape()

    def add(
        self,
        audio16k: np.ndarray,
        audio24k: np.ndarray | None,
        start16: int | None,
        start24: int | None,
    ) -> int:
        s16 = self.t16.end if start16 is None else start16
        self.t16.append(s16, np.asarray(audio16k, dtype=np.float32))
        if audio24k is not None:
            s24 = self.t24.end if start24 is None else start24
            self.t24.append(s24, np.asarray(audio24k, dtype=np.float32))
        return s16

    def cut(self, a16: int, b16: int, speech: tuple[int, int]) -> Utterance:
        a24, b24 = a16 * SAMPLE_RATE // ASR_RATE, b16 * SAMPLE_RATE // ASR_RATE
        return Utterance(
            a16, speech[0], speech[1], self.t16.slice(a16, b16), self.t24.slice(a24, b24)
        )

    def trim(self, keep16: int) -> None:
        self.t16.trim(keep16)
        self.t24.trim(keep16 * SAMPLE_RATE // ASR_RATE)


class TurnDetector:
    """Utterances by voice activity. One thread only.

    Args:
        vad: the streaming detector (its `end_silence_ms` decides when a turn is over).
        pre_roll_ms: audio kept before the detected start.
        post_roll_ms: audio kept after the detected end (at most the end-of-turn silence).
    """

    def __init__(self, vad: StreamingVad, pre_roll_ms: int = 250, post_roll_ms: int = 200):
        self.vad = vad
        self._pre = pre_roll_ms * ASR_RATE // 1000
        self._post = min(post_roll_ms, vad.config.end_silence_ms) * ASR_RATE // 1000
        self._rec = _Recorder()

    def feed_chunk(self, chunk) -> list[SpeechStart | Utterance]:
        """Consume a `CaptureChunk` (it must carry 16 kHz audio, and 24 kHz if wanted)."""
        return self.feed(*chunk_streams(chunk))

    def feed(
        self,
        audio16k: np.ndarray,
        audio24k: np.ndarray | None = None,
        start16: int | None = None,
        start24: int | None = None,
    ) -> list[SpeechStart | Utterance]:
        """Consume audio; return `SpeechStart`s and finished `Utterance`s in order."""
        self._rec.add(audio16k, audio24k, start16, start24)
        return self._convert(self.vad.feed(audio16k))

    def flush(self) -> list[SpeechStart | Utterance]:
        """End of input: finish an utterance still open."""
        return self._convert(self.vad.flush())

    def _convert(self, events) -> list[SpeechStart | Utterance]:
        out: list[SpeechStart | Utterance] = []
        for e in events:
            if isinstance(e, SpeechEnd):
                a = max(0, e.start - self._pre)
                b = min(self._rec.t16.end, e.end + self._post)
                out.append(self._rec.cut(a, b, (e.start, e.end)))
            else:
                out.append(e)
        # keep what a stretch of speech starting at the next unscored window would need
        open_start = self.vad.open_start
        keep = (open_start if open_start is not None else self.vad.position) - self._pre
        self._rec.trim(keep)
        return out


class PushToTalk:
    """Utterances between `press()` and `release()`. Feed from the reader thread; press and
    release from any thread."""

    def __init__(self) -> None:
        self._rec = _Recorder()
        self._lock = threading.Lock()
        self._start: int | None = None

    @property
    def pressed(self) -> bool:
        """Whether the talk key is held."""
        return self._start is not None

    def feed_chunk(self, chunk) -> None:
        """Consume a `CaptureChunk`."""
        self.feed(*chunk_streams(chunk))

    def feed(
        self,
        audio16k: np.ndarray,
        audio24k: np.ndarray | None = None,
        start16: int | None = None,
        start24: int | None = None,
    ) -> None:
        """Consume audio; only what arrives while pressed is kept."""
        with self._lock:
            self._rec.add(audio16k, audio24k, start16, start24)
            self._rec.trim(self._start if self._start is not None else self._rec.t16.end)

    def press(self) -> None:
        """Start recording at the newest sample received."""
        with self._lock:
            if self._start is None:
                self._start = self._rec.t16.end

    def release(self) -> Utterance | None:
        """Stop recording; the utterance since `press()`, or None if it was not pressed."""
        with self._lock:
            if self._start is None:
                return None
            a, b = self._start, self._rec.t16.end
            self._start = None
            utt = self._rec.cut(a, b, (a, b))
            self._rec.trim(b)
            return utt
