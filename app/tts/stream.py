"""Streaming: text in as it arrives, PCM frames and word timings out as soon as each is final.

    stream = engine.stream(options, prefix=turns)
    stream.push_text("[S1] Hello the")      # any thread, any time
    stream.push_text("re, how are you?")
    stream.finish()                         # no more text
    for event in stream:                    # AudioFrame / WordEvent, in order
        ...
    stream.cancel()                         # from any thread; iteration ends at the next frame

The stream steps the model only while the queued text makes the step exact, so the tokens equal
those of `engine.generate` on the whole text.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import torch

from app.core import FRAME_RATE
from app.tts.generator import Generation
from app.tts.script import ScriptParser


@dataclass(frozen=True)
class AudioFrame:
    """One frame of speech: 1920 float32 samples at 24 kHz (80 ms)."""

    index: int  # frame number from the start of the output
    codes: torch.Tensor  # long [K]: the Mimi codes of the frame (on the CPU)
    pcm: np.ndarray | None  # float32 [1920], None when the engine has no codec

    @property
    def seconds(self) -> float:
        """Where the frame starts in the output."""
        return self.index / FRAME_RATE


@dataclass(frozen=True)
class WordEvent:
    """A word of the script and the moment it starts in the output."""

    word: str  # the word as written in the script
    start: float  # seconds from the start of the output


@dataclass
class StreamStats:
    """Timings of one stream (seconds, `time.perf_counter` clock)."""

    created: float = field(default_factory=time.perf_counter)  # when the stream was made
    first_text: float | None = None  # when the first text was pushed
    first_frame: float | None = None  # when the first PCM frame was ready
    frames: int = 0  # frames produced
    steps: int = 0  # generation steps taken
    step_seconds: float = 0.0  # time spent in model steps
    decode_seconds: float = 0.0  # time spent in the codec


class StreamDecoder(Protocol):
    """A codec's streaming decoder (`app.codec.mimi.MimiStreamDecoder`): one frame's codes in,
    its PCM out, continuing the audio of the frames before it."""

    def decode_frame(self, codes: torch.Tensor) -> np.ndarray: ...  # long [K] -> float32 [1920]


class Dia2Stream:
    """Incremental generation. Iterate it on one thread; push text from any thread."""

    def __init__(self, generation: Generation, parser: ScriptParser,
                 decoder: StreamDecoder | None = None) -> None:
        self._gen = generation
        self._parser = parser
        self._decoder = decoder  # the codec's stream decoder; None: no audio, codes only
        self._lock = threading.Condition()
        self._incoming: list[str] = []
        self._finished = False
        self._cancelled = threading.Event()
        self.error: BaseException | None = None
        self.stats = StreamStats()

    # -- producer side -------------------------------------------------------------------
    def push_text(self, text: str) -> None:
        """Queue more script text (words may be split across calls)."""
        with self._lock:
            if self._finished:
                raise RuntimeError("push_text after finish()")
            if self.stats.first_text is None:
                self.stats.first_text = time.perf_counter()
            self._incoming.append(text)
            self._lock.notify_all()

    def finish(self) -> None:
        """No more text will come."""
        with self._lock:
            self._finished = True
            self._lock.notify_all()

    def cancel(self) -> None:
        """Stop as soon as possible; iteration ends."""
        self._cancelled.set()
        with self._lock:
            self._lock.notify_all()

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    @property
    def truncated(self) -> bool:
        """True when the context ran out before all the text was spoken."""
        return self._gen.truncated

    @property
    def seed(self) -> int:
        return self._gen.seed

    # -- consumer side -------------------------------------------------------------------
    def _take_text(self) -> bool:
        """Move pushed text into the generation; block until there is something to do.
        Returns False when cancelled."""
        with self._lock:
            while True:
                if self._cancelled.is_set():
                    return False
                pieces, self._incoming = self._incoming, []
                finished = self._finished
                if pieces or finished or self._gen.can_step() or self._gen.advance_possible():
                    break
                self._lock.wait()
        for piece in pieces:
            self._gen.add_entries(self._parser.feed(piece))
        if finished and not self._gen.text_done:
            self._gen.add_entries(self._parser.close())
            self._gen.close_text()
        return True

    def __iter__(self) -> Iterator[AudioFrame | WordEvent]:
        gen = self._gen
        while not gen.done:
            if not self._take_text():
                return
            progressed = False
            t0 = time.perf_counter()
            with torch.inference_mode():
                if gen.warmup_pending():
                    progressed = gen.advance_warmup()
                while not gen.warmup_pending() and gen.can_step() and not self._cancelled.is_set():
                    gen.step()
                    progressed = True
                    self.stats.steps += 1
                    self.stats.step_seconds += time.perf_counter() - t0
                    yield from self._emit()
                    t0 = time.perf_counter()
                    if self._incoming_waiting():
                        break  # take new text before the next step
            if not progressed and gen.text_done and not gen.done and not gen.can_step():
                raise RuntimeError("generation stalled with all text received")  # invariant
        yield from self._emit()

    @property
    def decoder(self) -> StreamDecoder | None:
        """The codec stream decoder (None without a codec); pass it to the next stream of the
        same utterance to continue the audio seamlessly."""
        return self._decoder

    def _incoming_waiting(self) -> bool:
        with self._lock:
            return bool(self._incoming) or (self._finished and not self._gen.text_done)

    def _emit(self) -> Iterator[AudioFrame | WordEvent]:
        gen = self._gen
        for word, start in gen.new_words():
            yield WordEvent(word, start)
        for frame in gen.completed_frames():
            pcm = None
            if self._decoder is not None:
                t0 = time.perf_counter()
                pcm = self._decoder.decode_frame(frame.codes)
                self.stats.decode_seconds += time.perf_counter() - t0
            if self.stats.first_frame is None:
                self.stats.first_frame = time.perf_counter()
            self.stats.frames += 1
            yield AudioFrame(frame.index, frame.codes.cpu(), pcm)
