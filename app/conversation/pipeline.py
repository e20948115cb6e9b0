"""The turn pipeline: a person's turn in, the character's spoken reply out, off the caller's thread.

    pipeline = TurnPipeline(engine, recognizer, brain, character, sink, on_event=events.put)
    pipeline.start()
    pipeline.submit_turn(audio24k)          # the person's turn ended (from VAD, a file, ...)
    pipeline.interrupt()                    # the person spoke over the character (barge-in)
    pipeline.stop()

One worker thread runs the turns in order: recognise the words and encode the Mimi codes of the
person's audio, ask the brain (on its own thread) and push the reply's words into a Dia2 stream
as they arrive (`app.conversation.reply`), play the frames into the sink, and record what was
heard. Everything it does is reported as events (`app.conversation.events`).

A reply longer than the room the prefix budget leaves is split into several generations; each
is conditioned on the voice, the recent turns and the part of the reply just spoken. An
interruption flushes the sink at once (from the calling thread), cancels the brain and Dia2,
and keeps in the transcript only the words the person heard, by the sink's clock.

Threads: the pipeline owns its worker and each reply's brain thread (`reply-text`). A reply's
brain thread is cancelled and joined when the reply ends (`REPLY_JOIN_S` at most, then again at
`stop()`); `stop()` joins the worker within its timeout. A thread still running when the
interpreter exits can abort the process, so none is left behind.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch

from app.conversation.budget import PrefixBudget, choose_prefix, words_that_fit
from app.conversation.events import (
    Error,
    Event,
    Interrupted,
    PersonWords,
    State,
    StateChanged,
    TurnAdded,
    TurnTimings,
)
from app.conversation.reply import ReplyText
from app.conversation.sinks import PlaybackSink
from app.conversation.speaking import SpeakingParts, SpokenReply, speak_reply
from app.conversation.timeline import Timeline
from app.conversation.turns import CHARACTER, PERSON, Conversation, Turn, words_from
from app.core import ASR_RATE, SAMPLE_RATE

if TYPE_CHECKING:
    from app.brains.base import Brain
    from app.conversation.character import Character
    from app.conversation.recorder import SessionRecorder
    from app.conversation.setup import Transcriber
    from app.tts.engine import Dia2Engine
    from app.tts.options import GenerationOptions
    from app.tts.stream import Dia2Stream, StreamDecoder

log = logging.getLogger(__name__)

REPLY_JOIN_S = 5.0  # longest wait for a cancelled brain's thread at the end of a reply


@dataclass(frozen=True)
class PipelineConfig:
    """How the pipeline behaves (the models and devices are passed in separately)."""

    min_start_words: int = 3  # words gathered before Dia2 starts (or the whole reply if shorter)
    heard_word_min_s: float = 0.1  # a word counts as heard once this much of it has played
    max_frames: int | None = None  # cap on the frames of each generation (tests, quick demos)
    max_segments: int = 8  # at most this many generations for one reply
    system_prompt: str | None = None  # None: the character's persona prompt


@dataclass
class _Job:
    kind: str  # "person" or "say"
    audio24k: np.ndarray | None = None  # the person's turn (float32 24 kHz); None for "say"
    audio16k: np.ndarray | None = None  # the same at 16 kHz when the caller has it
    timeline: float | None = None  # where the turn lies in the recording; None: the next spot
    speech_end: float = 0.0  # pipeline clock: when the person stopped, or the line was asked for
    text: str = ""  # the line to say ("say")
    record_audio: bool = True  # write the person's audio to their track


def _whole_line(text: str) -> Callable[[threading.Event], Iterable[str]]:
    """A reply source that gives `text` in one piece (the greeting, a typed line)."""
    return lambda cancel: iter([text])


class TurnPipeline:
    """Runs the conversation's turns on a worker thread and reports events.

    Args:
        engine: a `Dia2Engine` with its Mimi codec attached.
        recognizer: anything with `transcribe(audio16k) -> [words with text/start/end]`.
        brain: an `app.brains.base.Brain`.
        character: the `Character` (persona, Dia2 settings).
        sink: the playback sink (`app.conversation.sinks`).
        conversation: the turns so far (with the voice turn, if any).
        recorder: a `SessionRecorder` or None.
        on_event: called with each event, on the worker thread.
        clock: the latency clock (seconds).
        timeline: maps the clock to the recording's timeline.
        budget: the prefix budget (default: sized to the engine).
        config: behaviour settings.
    """

    def __init__(self, engine: Dia2Engine, recognizer: Transcriber, brain: Brain,
                 character: Character, sink: PlaybackSink, *, conversation: Conversation | None = None,
                 recorder: SessionRecorder | None = None,
                 on_event: Callable[[Event], None] | None = None,
                 clock: Callable[[], float] = time.perf_counter, timeline: Timeline | None = None,
                 budget: PrefixBudget | None = None, config: PipelineConfig = PipelineConfig()) -> None:
        self.engine = engine
        self.recognizer = recognizer
        self.brain = brain
        self.character = character
        self.sink = sink
        self.conversation = conversation or Conversation()
        self.recorder = recorder
        self.clock = clock
        self.timeline = timeline or Timeline(clock)
        self.budget = budget or PrefixBudget.for_engine(engine)
        self.config = config
        self._on_event = on_event
        self._jobs: queue.Queue[_Job | None] = queue.Queue()
        self._pending = 0
        self._idle = threading.Condition()
        self._state = State.IDLE
        self._state_lock = threading.Lock()
        self._cancel: threading.Event | None = None  # the current reply's cancel event
        self._stream: Dia2Stream | None = None  # the current Dia2 stream
        self._reply_text: ReplyText | None = None
        self.interrupted_at: float | None = None  # sink position when interrupted
        self._thread: threading.Thread | None = None
        self._stragglers: list[ReplyText] = []  # replies whose brain thread outlived REPLY_JOIN_S
        self._stopping = threading.Event()  # set by stop(): no new reply starts, queued turns are dropped
        self.spoken: SpokenReply | None = None  # the last reply, for inspection

    # -- control (any thread) -------------------------------------------------------------
    @property
    def state(self) -> State:
        return self._state

    def start(self) -> TurnPipeline:
        self._thread = threading.Thread(target=self._work, name="turn-pipeline", daemon=True)
        self._thread.start()
        self._set_state(State.LISTENING)
        return self

    def submit_turn(self, audio24k: np.ndarray, *, audio16k: np.ndarray | None = None,
                    timeline: float | None = None, speech_end: float | None = None,
                    record_audio: bool = True) -> None:
        """The person's turn ended: `audio24k` (float32 mono 24 kHz) is what they said.

        `timeline` places it in the recording (default: the timeline's next free spot);
        `speech_end` is when the speech ended on the pipeline clock (default: now);
        `record_audio` writes the audio to the person's track (the live mode records the
        whole microphone stream itself).
        """
        self._put(_Job("person", np.asarray(audio24k, dtype=np.float32), audio16k, timeline,
                       speech_end if speech_end is not None else self.clock(),
                       record_audio=record_audio))

    def say(self, text: str) -> None:
        """The character says `text` (the greeting, a typed line) as its next turn."""
        self._put(_Job("say", text=text, speech_end=self.clock()))

    def _put(self, job: _Job) -> None:
        with self._idle:
            self._pending += 1
        self._jobs.put(job)

    def interrupt(self) -> bool:
        """Barge-in: stop playback now, cancel the reply. True if a reply was cut."""
        with self._state_lock:
            if self._cancel is None:
                return False
            if self._state not in (State.THINKING, State.SPEAKING) and not self._stopping.is_set():
                return False
            self._cancel.set()
            self.interrupted_at = self.sink.position()
            self.sink.flush()
            if self._stream is not None:
                self._stream.cancel()
            if self._reply_text is not None:
                self._reply_text.wake()
                self._abort_brain()
        return True

    def _abort_brain(self) -> None:
        try:
            self.brain.abort()
        except Exception:  # noqa: BLE001 - a brain that cannot abort is joined with a bound
            log.exception("aborting the brain's reply failed")

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until every submitted turn is done."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._idle:
            while self._pending:
                wait = None if deadline is None else deadline - time.monotonic()
                if wait is not None and wait <= 0:
                    return False
                self._idle.wait(wait)
        return True

    def stop(self, timeout: float = 30.0) -> bool:
        """Cancel what runs (a turn being recognised gets no reply; queued turns are dropped),
        join the worker and the replies' brain threads (each within `timeout` s). Returns True
        when every thread has ended."""
        self._stopping.set()
        self.interrupt()
        self._jobs.put(None)
        ended = True
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                log.error("the conversation's worker did not stop within %.0f s", timeout)
                ended = False
        for text in self._stragglers:
            if not text.join(timeout):
                log.error("a reply's brain thread did not stop within %.0f s", timeout)
                ended = False
        self._set_state(State.STOPPED)
        return ended

    # -- worker ---------------------------------------------------------------------------
    def emit(self, event: Event) -> None:
        if self._on_event is not None:
            try:
                self._on_event(event)
            except Exception:  # a broken listener must not stop the conversation
                log.exception("event listener failed on %r", type(event).__name__)

    def _set_state(self, state: State) -> None:
        with self._state_lock:
            previous, self._state = self._state, state
        if previous != state:
            self.emit(StateChanged(state, previous))

    def _work(self) -> None:
        from app.threads import dia2_threads, plan_threads, use_torch_threads

        # Dia2 and Mimi run on this thread; a local reply model may compute beside them
        use_torch_threads(dia2_threads(plan_threads(), reply_beside=self.brain.computes_here))
        while True:
            job = self._jobs.get()
            if job is None:
                return
            try:
                if self._stopping.is_set():
                    continue  # stopping: a queued turn is dropped (finally still counts it done)
                if job.kind == "person":
                    self._person_turn(job)
                else:
                    self._reply(_whole_line(job.text), job.speech_end, None, 0.0, 0.0)
            except Exception as exc:  # keep the session alive; say what happened
                log.exception("turn failed")
                self.emit(Error(f"the turn failed: {exc}", "pipeline"))
            finally:
                self._set_state(State.LISTENING)
                with self._idle:
                    self._pending -= 1
                    self._idle.notify_all()

    def _person_turn(self, job: _Job) -> None:
        self._set_state(State.RECOGNISING)
        audio = job.audio24k
        assert audio is not None  # submit_turn gives every person's turn its audio
        start = job.timeline if job.timeline is not None else self.timeline.place_person(len(audio) / SAMPLE_RATE)
        if job.record_audio and self.recorder is not None:
            self.recorder.write("person", round(start * SAMPLE_RATE), audio)
        t0 = self.clock()
        words: list = []
        try:
            a16 = job.audio16k
            if a16 is None:
                from app.audio.resample import resample

                a16 = resample(audio, SAMPLE_RATE, ASR_RATE)
            words = list(words_from(self.recognizer.transcribe(a16)))
        except Exception as exc:
            self.emit(Error(f"speech recognition failed: {exc}", "recognition"))
        take_notice = getattr(self.recognizer, "take_notice", None)
        notice = take_notice() if take_notice is not None else None
        if notice:  # recognition moved to the CPU during this turn (said once)
            self.emit(Error(notice, "recognition"))
        t1 = self.clock()
        codes = None
        if len(audio) >= 1:
            assert self.engine.codec is not None  # the pipeline's engine has its codec
            codes = self.engine.codec.encode(audio)
        t2 = self.clock()
        turn = self.conversation.add(Turn(0, PERSON, tuple(words), codes, start, len(audio) / SAMPLE_RATE))
        self.emit(PersonWords(turn.index, turn.words, start))
        self._added(turn)
        if not words:
            self.emit(Error("no words were recognised in that turn; say it again", "recognition"))
            return
        if self._stopping.is_set():
            return  # the session is ending: no reply
        history = self.conversation.messages(self.config.system_prompt or self.character.system_prompt())
        self._reply(lambda cancel: self.brain.reply(history, cancel=cancel), job.speech_end,
                    t2, t1 - t0, t2 - t1)

    def _added(self, turn: Turn) -> None:
        self.emit(TurnAdded(turn))
        if self.recorder is not None:
            self.recorder.add_turn(turn)

    def _reply(self, source: Callable[[threading.Event], Iterable[str]], speech_end: float, words_ready: float | None, rec_s: float,
               enc_s: float) -> None:
        cancel = threading.Event()
        index = self.conversation.next_index()
        with self._state_lock:
            if self._stopping.is_set():
                return
            self._cancel = cancel
            self.interrupted_at = None
        self._set_state(State.THINKING)
        text = ReplyText(source, cancel, self.clock)
        self._reply_text = text
        try:
            text.wait_for(1)
            if not text.words:
                if text.error is not None:
                    self.emit(Error(str(text.error), "brain"))
                elif not cancel.is_set() and text.had_text:
                    self.emit(Error("the reply had nothing that can be said aloud (only code, "
                                    "symbols or emoji); ask again in other words", "brain"))
                elif not cancel.is_set():
                    self.emit(Error("the reply model gave an empty reply; say it again, or pick "
                                    "another reply model in the settings", "brain"))
                return
            self._set_state(State.SPEAKING)
            spoken = speak_reply(self.speaking_parts(), text, index, cancel)
            self.spoken = spoken
        finally:
            cancel.set()
            text.wake()
            with self._state_lock:
                self._cancel = None
                self._stream = None
                self._reply_text = None
            if not text.done:
                self._abort_brain()
            if not text.join(REPLY_JOIN_S):
                log.warning("the brain did not stop within %.0f s; it is joined at the end", REPLY_JOIN_S)
                self._stragglers.append(text)
        if text.error is not None:
            self.emit(Error(f"the reply was cut short: {text.error}", "brain"))
        def rel(t: float | None) -> float | None:
            return None if t is None else t - speech_end

        timings = TurnTimings(
            index, rel(words_ready), rel(text.first_text_time), rel(spoken.first_frame),
            rel(spoken.first_heard), rec_s, enc_s, spoken.frames,
            1000 * spoken.gen_seconds / max(spoken.frames, 1), spoken.segments)
        self.emit(timings)
        if spoken.interrupted:
            self.emit(Interrupted(index, spoken.duration, len(spoken.words)))
        if not spoken.words and spoken.frames == 0:
            return
        codes = torch.stack(spoken.codes, dim=1) if spoken.codes else None
        turn = self.conversation.add(Turn(0, CHARACTER, spoken.words, codes, spoken.timeline,
                                          spoken.duration, spoken.interrupted, timings.as_dict()))
        if self.conversation.lock_voice(turn, self.budget.voice_max_frames):
            log.info("voice locked on the character's turn %d", turn.index)
        self._added(turn)

    # used by speak_reply ------------------------------------------------------------------
    def speaking_parts(self) -> SpeakingParts:
        """What speaking a reply uses of the pipeline."""
        return SpeakingParts(sink=self.sink, clock=self.clock, timeline=self.timeline,
                             recorder=self.recorder, emit=self.emit, dia2=self.character.dia2,
                             config=self.config, open_stream=self.open_stream,
                             words_for=self.words_for, interrupted_at=self.interruption)

    def interruption(self) -> float | None:
        """The sink position at which the current reply was interrupted, or None."""
        return self.interrupted_at

    def open_stream(self, options: GenerationOptions, extra_turn: Turn | None,
                    decoder: StreamDecoder | None = None) -> tuple[Dia2Stream, int]:
        """A Dia2 stream conditioned by the budget policy; returns (stream, room frames).

        `decoder`: the previous segment's codec decoder, continued (see `Dia2Engine.stream`).
        """
        turns = self.conversation.turns + ([extra_turn] if extra_turn is not None else [])
        choice = choose_prefix(self.conversation.voice, turns, self.budget)
        stream = self.engine.stream(options, choice.prefix(), decoder=decoder)
        with self._state_lock:
            self._stream = stream
            if self._cancel is not None and self._cancel.is_set():
                stream.cancel()
        return stream, choice.room

    def words_for(self, room: int, options: GenerationOptions) -> int:
        return words_that_fit(room - options.initial_padding, self.budget)
