"""Speaking one reply: Dia2 segments into the sink, heard audio into the recording.

`speak_reply` runs on the pipeline's worker thread. For each segment it opens a Dia2 stream
conditioned by the prefix budget, feeds it words on a helper thread (`feed_segment`), and for
every frame: writes the PCM to the sink, reports it, and commits to the recording the part the
sink says was heard. A segment the context cut short hands its unspoken words to the next one.
After the last frame it waits, still interruptible, until the sink has played everything.

On an interruption only what was heard stays: the samples before the sink position taken when
the person cut in, the frames (codes) under them, and the words that started at least
`heard_word_min_s` before that point.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field

import numpy as np
import torch

from app.conversation.events import Error, OutputChunk, ReplyPlaced, ReplyWord, level_of
from app.conversation.reply import ReplyText, feed_segment
from app.conversation.turns import CHARACTER, Turn
from app.core import FRAME_SAMPLES, SAMPLE_RATE, Word
from app.errors import UserError
from app.tts.stream import AudioFrame

log = logging.getLogger(__name__)



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


def _word_times(starts: list[tuple[str, float]], seg_ends: list[tuple[int, float]]) -> list[Word]:
    """Words with ends: the next word's start within a segment, else the segment's end."""
    words = []
    for i, (text, start) in enumerate(starts):
        seg_end = next(end for first, end in reversed(seg_ends) if first <= i)
        nxt = starts[i + 1][1] if i + 1 < len(starts) else None
        end = nxt if nxt is not None and nxt <= seg_end else seg_end
        words.append(Word(text, start, max(start, end)))
    return words


def speak_reply(p, text: ReplyText, index: int, cancel: threading.Event) -> SpokenReply:
    """Speak `text` as the character's turn `index` through pipeline `p`."""
    sink, clock, cfg = p.sink, p.clock, p.config
    out = SpokenReply()
    audio = _Audio()
    start_sample = sink.pushed
    starts: list[tuple[str, float]] = []  # word, seconds into the reply
    seg_ends: list[tuple[int, float]] = []  # (first word index, segment end seconds)
    placed: list[float] = []  # the reply's timeline start, once known

    def commit(limit: float | None = None) -> None:
        heard = min(int(sink.position() - start_sample), audio.n)
        if limit is not None:
            heard = min(heard, int(limit))
        if heard <= audio.committed:
            return
        if not placed:
            out.first_heard = sink.heard_at(start_sample) or clock()
            placed.append(p.timeline.place_reply(out.first_heard))
            p.emit(ReplyPlaced(index, placed[0]))
        if p.recorder is not None:
            p.recorder.write("character", round(placed[0] * SAMPLE_RATE) + audio.committed,
                             audio.buf[audio.committed:heard])
        audio.committed = heard

    next_word = 0
    extra: Turn | None = None
    decoder = None  # the reply's codec decoder, shared by its segments
    while out.segments < cfg.max_segments and not cancel.is_set():
        left = None if cfg.max_frames is None else cfg.max_frames - out.frames
        if left is not None and left <= 0:
            break
        options = p.character.dia2.options(index + out.segments, max_frames=left)
        try:
            # later segments continue the first one's Mimi decoder: the audio joins seamlessly
            stream, room = p.open_stream(options, extra, decoder)
            decoder = stream.decoder
        except UserError as exc:
            p.emit(Error(f"cannot speak the reply: {exc}", "tts"))
            break
        limit = p.words_for(room, options)
        seg_frame0, seg_word0 = out.frames, len(starts)
        stop = threading.Event()
        fed: list[int] = []
        feeder = threading.Thread(
            target=lambda s=stream, w=next_word, n=limit, f=fed, st=stop, m=(
                cfg.min_start_words if out.segments == 0 else 1): f.append(feed_segment(s, text, w, n, m, st)),
            name="reply-feed", daemon=True)
        feeder.start()
        t = clock()
        try:
            for ev in stream:
                if cancel.is_set():
                    break
                if isinstance(ev, AudioFrame):
                    out.gen_seconds += clock() - t
                    if out.first_frame is None:
                        out.first_frame = clock()
                    pcm = ev.pcm if ev.pcm is not None else np.zeros(FRAME_SAMPLES, np.float32)
                    sink.write(pcm)
                    if cancel.is_set():  # interrupted while writing: drop what got queued
                        sink.flush()
                        break
                    p.emit(OutputChunk(index, audio.n, pcm))
                    p.emit(level_of(pcm, "character", placed[0] + audio.n / SAMPLE_RATE if placed else None))
                    audio.add(pcm)
                    out.codes.append(ev.codes)
                    out.frames += 1
                    commit()
                    t = clock()
                else:
                    start = seg_frame0 * FRAME_SAMPLES / SAMPLE_RATE + ev.start
                    starts.append((ev.word, start))
                    p.emit(ReplyWord(index, ev.word, start, placed[0] + start if placed else None))
        except Exception as exc:  # a failing generation ends the reply, not the session
            log.exception("generation failed")
            p.emit(Error(f"speech generation failed: {exc}", "tts"))
            cancel.set()
        finally:
            stop.set()
            text.wake()
            feeder.join()
        out.segments += 1
        seg_ends.append((seg_word0, out.frames * FRAME_SAMPLES / SAMPLE_RATE))
        if cancel.is_set() or (left is not None and stream.stats.steps >= left):
            break  # interrupted, failed, or the frame cap was reached
        pushed_to = fed[0] if fed else next_word
        spoken = len(starts) - seg_word0
        if spoken < pushed_to - next_word:  # the context or the frame cap cut the segment
            if spoken == 0:
                p.emit(Error("a reply word could not be spoken within the context", "tts"))
                break
            next_word += spoken
        else:
            next_word = pushed_to
        if text.done and next_word >= len(text.words):
            break
        seg_codes = out.codes[seg_frame0:]
        seg_words = tuple(Word(w.text, w.start - seg_frame0 * FRAME_SAMPLES / SAMPLE_RATE, w.end - seg_frame0 * FRAME_SAMPLES / SAMPLE_RATE)
                          for w in _word_times(starts, seg_ends)[seg_word0:])
        extra = Turn(-2, CHARACTER, seg_words, torch.stack(seg_codes, dim=1) if seg_codes else None)
    sink.end()
    # wait until everything was heard, still open to an interruption
    while not cancel.is_set() and sink.position() - start_sample < audio.n:
        commit()
        time.sleep(0.01)
    words = _word_times(starts, seg_ends) if starts else []
    if p.interrupted_at is not None:
        heard = int(np.clip(p.interrupted_at - start_sample, 0, audio.n))
        commit(limit=heard)
        out.interrupted = True
        heard_s = heard / SAMPLE_RATE
        words = [Word(w.text, w.start, min(w.end, heard_s)) for w in words
                 if w.start + cfg.heard_word_min_s <= heard_s]
        out.codes = out.codes[: heard // FRAME_SAMPLES]
        out.duration = heard_s
    else:
        commit()
        out.duration = audio.n / SAMPLE_RATE
        # a word placed on the frame where a frame cap cut the audio was never spoken
        words = [Word(w.text, w.start, min(w.end, out.duration)) for w in words
                 if w.start < out.duration]
    if out.first_heard is None and audio.committed:
        out.first_heard = sink.heard_at(start_sample)
    out.words = tuple(words)
    if placed:
        out.timeline = placed[0]
        p.timeline.ended(placed[0], out.duration)
    return out
