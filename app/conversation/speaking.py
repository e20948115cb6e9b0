"""Speaking one reply: Dia2 segments into the sink, heard audio into the recording.

`speak_reply` runs on the pipeline's worker thread and uses only the collaborators in
`SpeakingParts` (the sink, the clocks, the timeline, the recorder, the event callback, the Dia2
settings and the pipeline's stream opener). Its stages, each a method of `_ReplySpeech`:

1. compose: open a Dia2 stream conditioned by the prefix budget (`_open_segment`) and feed it
   the reply's words on a helper thread (`_feed`, through `feed_segment`);
2. stream generation: iterate the stream (`_generate`, `_pull`);
3. push frames: write each frame's PCM to the sink and report it (`_play_frame`), report each
   word (`_hear_word`);
4. record: commit to the recording the part the sink says was heard (`_commit`);
5. continue: a segment the context cut short hands its unspoken words to the next one
   (`_advance_words`, `_continuation`);
6. barge-in stop: after the last frame, wait, still interruptible, until the sink has played
   everything (`drain`); on an interruption keep only what was heard (`finish`).

On an interruption only what was heard stays: the samples before the sink position taken when
the person cut in, the frames (codes) under them, and the words that started at least
`heard_word_min_s` before that point.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

import numpy as np
import torch

from app.conversation.events import Error, Event, OutputChunk, ReplyPlaced, ReplyWord, level_of
from app.conversation.reply import ReplyText, feed_segment
from app.conversation.turns import CHARACTER, Turn
from app.core import FRAME_SAMPLES, SAMPLE_RATE, Word
from app.errors import UserError
from app.tts.stream import AudioFrame, Dia2Stream, StreamDecoder, WordEvent

if TYPE_CHECKING:
    from app.conversation.character import Dia2Settings
    from app.conversation.pipeline import PipelineConfig
    from app.conversation.recorder import SessionRecorder
    from app.conversation.sinks import PlaybackSink
    from app.conversation.timeline import Timeline
    from app.tts.options import GenerationOptions

log = logging.getLogger(__name__)


class OpenStream(Protocol):
    """Opens a Dia2 stream conditioned by the prefix budget; returns it and its room (frames).

    `decoder`: the previous segment's codec decoder, continued (None: a new one).
    """

    def __call__(self, options: GenerationOptions, extra_turn: Turn | None,
                 decoder: StreamDecoder | None = None) -> tuple[Dia2Stream, int]: ...


@dataclass(frozen=True)
class SpeakingParts:
    """What speaking a reply uses of the pipeline (`TurnPipeline.speaking_parts` builds it)."""

    sink: PlaybackSink  # plays the frames; its position says how much was heard
    clock: Callable[[], float]  # the pipeline's latency clock (seconds)
    timeline: Timeline  # places the reply on the recording's time axis
    recorder: SessionRecorder | None  # the recording (the character's track); None: not recorded
    emit: Callable[[Event], None]  # reports an event, on the calling thread
    dia2: Dia2Settings  # the character's generation settings
    config: PipelineConfig  # start words, segment and frame caps, the heard-word threshold
    open_stream: OpenStream  # a conditioned Dia2 stream and its room in frames
    words_for: Callable[[int, GenerationOptions], int]  # reply words that fit a room of frames
    interrupted_at: Callable[[], float | None]  # sink position when the person cut in, or None


@dataclass
class SpokenReply:
    """What one reply turned into."""

    words: tuple[Word, ...] = ()  # words heard, times on the reply's audio
    codes: list[torch.Tensor] = field(default_factory=list)  # Mimi codes [K] of each heard frame
    frames: int = 0  # frames generated
    duration: float = 0.0  # seconds heard
    timeline: float = 0.0  # where the reply starts in the recording
    interrupted: bool = False  # cut by the person
    first_frame: float | None = None  # clock time of the first frame
    first_heard: float | None = None  # clock time the first sample was heard
    gen_seconds: float = 0.0  # time spent generating frames
    segments: int = 0  # Dia2 generations used


class _Audio:
    """The reply's samples in one growing buffer, and how much of it is recorded."""

    def __init__(self) -> None:
        self.buf = np.zeros(SAMPLE_RATE * 4, dtype=np.float32)
        self.n = 0
        self.committed = 0

    def add(self, pcm: np.ndarray) -> None:
        if self.n + len(pcm) > len(self.buf):
            self.buf = np.concatenate([self.buf, np.zeros(max(len(self.buf), len(pcm)), np.float32)])
        self.buf[self.n:self.n + len(pcm)] = pcm
        self.n += len(pcm)


@dataclass
class _Segment:
    """One Dia2 generation of the reply, and the words fed into it."""

    stream: Dia2Stream  # the generation
    first_word: int  # index in the reply of the first word it is fed
    limit: int  # at most this many words fit its room
    min_start: int  # words gathered before it starts
    frame0: int  # the reply's frame count when it began
    word0: int  # the reply's spoken-word count when it began
    stop: threading.Event = field(default_factory=threading.Event)  # ends the feeding
    pushed_to: int | None = None  # the feeder's result: the index after the last word pushed

    @property
    def offset(self) -> float:
        """Where the segment starts in the reply's audio (seconds)."""
        return self.frame0 * FRAME_SAMPLES / SAMPLE_RATE


def _word_times(starts: list[tuple[str, float]], seg_ends: list[tuple[int, float]]) -> list[Word]:
    """Words with ends: the next word's start within a segment, else the segment's end."""
    words = []
    for i, (text, start) in enumerate(starts):
        seg_end = next(end for first, end in reversed(seg_ends) if first <= i)
        nxt = starts[i + 1][1] if i + 1 < len(starts) else None
        end = nxt if nxt is not None and nxt <= seg_end else seg_end
        words.append(Word(text, start, max(start, end)))
    return words


def speak_reply(parts: SpeakingParts, text: ReplyText, index: int,
                cancel: threading.Event) -> SpokenReply:
    """Speak `text` as the character's turn `index`; `cancel` stops it (barge-in, failure)."""
    speech = _ReplySpeech(parts, text, index, cancel)
    speech.speak_segments()
    speech.drain()
    return speech.finish()


class _ReplySpeech:
    """The state of one reply being spoken (see the module docstring for the stages)."""

    def __init__(self, parts: SpeakingParts, text: ReplyText, index: int,
                 cancel: threading.Event) -> None:
        self.parts = parts
        self.cfg = parts.config
        self.text = text
        self.index = index
        self.cancel = cancel
        self.out = SpokenReply()
        self.audio = _Audio()
        self.start_sample = parts.sink.pushed  # the sink position where the reply begins
        self.starts: list[tuple[str, float]] = []  # word, seconds into the reply
        self.seg_ends: list[tuple[int, float]] = []  # (first word index, segment end seconds)
        self.placed: float | None = None  # the reply's timeline start, once known
        self.next_word = 0  # the next reply word to feed
        self.extra: Turn | None = None  # the segment just spoken, conditioning the next one
        self.decoder: StreamDecoder | None = None  # the reply's codec decoder, shared

    # -- the segments ------------------------------------------------------------------------
    def speak_segments(self) -> None:
        """Generate and play segments until the reply is spoken, cut, capped or failed."""
        out, cfg = self.out, self.cfg
        while out.segments < cfg.max_segments and not self.cancel.is_set():
            left = None if cfg.max_frames is None else cfg.max_frames - out.frames
            if left is not None and left <= 0:
                break
            seg = self._open_segment(left)
            if seg is None:
                break
            self._generate(seg)
            out.segments += 1
            self.seg_ends.append((seg.word0, out.frames * FRAME_SAMPLES / SAMPLE_RATE))
            if self.cancel.is_set() or (left is not None and seg.stream.stats.steps >= left):
                break  # interrupted, failed, or the frame cap was reached
            if not self._advance_words(seg):
                break
            self.extra = self._continuation(seg)

    def _open_segment(self, left: int | None) -> _Segment | None:
        """A Dia2 stream for the next segment, conditioned on the turns and the segment before;
        None (reported) when it cannot be opened."""
        options = self.parts.dia2.options(self.index + self.out.segments, max_frames=left)
        try:
            # later segments continue the first one's Mimi decoder: the audio joins seamlessly
            stream, room = self.parts.open_stream(options, self.extra, self.decoder)
            self.decoder = stream.decoder
        except UserError as exc:
            self.parts.emit(Error(f"cannot speak the reply: {exc}", "tts"))
            return None
        limit = self.parts.words_for(room, options)
        min_start = self.cfg.min_start_words if self.out.segments == 0 else 1
        return _Segment(stream, self.next_word, limit, min_start, self.out.frames,
                        len(self.starts))

    def _feed(self, seg: _Segment) -> None:
        """The feeder thread: push the segment's words into its stream, then finish it."""
        seg.pushed_to = feed_segment(seg.stream, self.text, seg.first_word, seg.limit,
                                     seg.min_start, seg.stop)

    def _generate(self, seg: _Segment) -> None:
        """Feed the segment on a helper thread while its frames are played here."""
        feeder = threading.Thread(target=self._feed, args=(seg,), name="reply-feed", daemon=True)
        feeder.start()
        try:
            self._pull(seg)
        except Exception as exc:  # a failing generation ends the reply, not the session
            log.exception("generation failed")
            self.parts.emit(Error(f"speech generation failed: {exc}", "tts"))
            self.cancel.set()
        finally:
            seg.stop.set()
            self.text.wake()
            feeder.join()

    def _pull(self, seg: _Segment) -> None:
        """Iterate the stream: play each frame, report each word, until done or cancelled."""
        clock = self.parts.clock
        t = clock()
        for ev in seg.stream:
            if self.cancel.is_set():
                break
            if isinstance(ev, AudioFrame):
                self.out.gen_seconds += clock() - t
                if not self._play_frame(ev):
                    break
                t = clock()
            else:
                self._hear_word(seg, ev)

    # -- frames and words --------------------------------------------------------------------
    def _play_frame(self, ev: AudioFrame) -> bool:
        """Write a frame to the sink, report it and record what was heard; False when an
        interruption came while writing (what got queued is dropped)."""
        out, sink, emit = self.out, self.parts.sink, self.parts.emit
        if out.first_frame is None:
            out.first_frame = self.parts.clock()
        pcm = ev.pcm if ev.pcm is not None else np.zeros(FRAME_SAMPLES, np.float32)
        sink.write(pcm)
        if self.cancel.is_set():  # interrupted while writing: drop what got queued
            sink.flush()
            return False
        emit(OutputChunk(self.index, self.audio.n, pcm))
        emit(level_of(pcm, "character", self._on_timeline(self.audio.n / SAMPLE_RATE)))
        self.audio.add(pcm)
        out.codes.append(ev.codes)
        out.frames += 1
        self._commit()
        return True

    def _hear_word(self, seg: _Segment, ev: WordEvent) -> None:
        start = seg.offset + ev.start
        self.starts.append((ev.word, start))
        self.parts.emit(ReplyWord(self.index, ev.word, start, self._on_timeline(start)))

    def _on_timeline(self, seconds: float) -> float | None:
        """A time in the reply on the recording's time axis (None until the reply is placed)."""
        return self.placed + seconds if self.placed is not None else None

    def _commit(self, limit: float | None = None) -> None:
        """Record the samples the sink has played (at most `limit`) since the last commit; the
        first heard sample places the reply on the timeline."""
        parts, audio = self.parts, self.audio
        heard = min(int(parts.sink.position() - self.start_sample), audio.n)
        if limit is not None:
            heard = min(heard, int(limit))
        if heard <= audio.committed:
            return
        if self.placed is None:
            self.out.first_heard = parts.sink.heard_at(self.start_sample) or parts.clock()
            self.placed = parts.timeline.place_reply(self.out.first_heard)
            parts.emit(ReplyPlaced(self.index, self.placed))
        if parts.recorder is not None:
            parts.recorder.write("character", round(self.placed * SAMPLE_RATE) + audio.committed,
                                 audio.buf[audio.committed:heard])
        audio.committed = heard

    # -- between segments --------------------------------------------------------------------
    def _advance_words(self, seg: _Segment) -> bool:
        """Move past the words the segment spoke; False when the reply is over (all spoken, or
        a word that cannot be spoken at all)."""
        pushed_to = seg.pushed_to if seg.pushed_to is not None else self.next_word
        spoken = len(self.starts) - seg.word0
        if spoken < pushed_to - self.next_word:  # the context or the frame cap cut the segment
            if spoken == 0:
                self.parts.emit(Error("a reply word could not be spoken within the context", "tts"))
                return False
            self.next_word += spoken
        else:
            self.next_word = pushed_to
        return not (self.text.done and self.next_word >= len(self.text.words))

    def _continuation(self, seg: _Segment) -> Turn:
        """The segment just spoken as a turn, so the next segment continues it."""
        codes = self.out.codes[seg.frame0:]
        words = tuple(Word(w.text, w.start - seg.offset, w.end - seg.offset)
                      for w in _word_times(self.starts, self.seg_ends)[seg.word0:])
        return Turn(-2, CHARACTER, words, torch.stack(codes, dim=1) if codes else None)

    # -- the end -----------------------------------------------------------------------------
    def drain(self) -> None:
        """After the last frame: wait until the sink has played everything, recording as it
        goes; an interruption ends the wait."""
        sink = self.parts.sink
        sink.end()
        while not self.cancel.is_set() and sink.position() - self.start_sample < self.audio.n:
            self._commit()
            time.sleep(0.01)

    def finish(self) -> SpokenReply:
        """Keep what was heard (up to the interruption, if any) and close the reply's place on
        the timeline."""
        out, audio = self.out, self.audio
        words = _word_times(self.starts, self.seg_ends) if self.starts else []
        interrupted_at = self.parts.interrupted_at()
        if interrupted_at is not None:
            heard = int(np.clip(interrupted_at - self.start_sample, 0, audio.n))
            self._commit(limit=heard)
            out.interrupted = True
            heard_s = heard / SAMPLE_RATE
            words = [Word(w.text, w.start, min(w.end, heard_s)) for w in words
                     if w.start + self.cfg.heard_word_min_s <= heard_s]
            out.codes = out.codes[: heard // FRAME_SAMPLES]
            out.duration = heard_s
        else:
            self._commit()
            out.duration = audio.n / SAMPLE_RATE
            # a word placed on the frame where a frame cap cut the audio was never spoken
            words = [Word(w.text, w.start, min(w.end, out.duration)) for w in words
                     if w.start < out.duration]
        if out.first_heard is None and audio.committed:
            out.first_heard = self.parts.sink.heard_at(self.start_sample)
        out.words = tuple(words)
        if self.placed is not None:
            out.timeline = self.placed
            self.parts.timeline.ended(self.placed, out.duration)
        return out
