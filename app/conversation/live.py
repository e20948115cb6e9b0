"""A live conversation: microphone -> turns -> the pipeline -> speakers, with barge-in.

`LiveSession` is what the terminal chat and the window both drive. The capture reader delivers
chunks. Unless headphones are on, WebRTC's echo canceller (`app.audio.echo`) first removes the
character's voice from them, on the capture reader thread: its reference is what the speakers
played at each microphone sample's capture time, read from the played history at the position
the playback clock gives for that time (silence while playback is held). Everything after sees
the cleaned microphone: voice activity (hands-free) or the talk key (push-to-talk) cuts it into
the person's turns, which go to the pipeline; while the character speaks, every chunk goes
through the `BargeInDetector` (echo gate on the known playback signal, given the playback
position at the moment the chunk was captured); when it fires the pipeline is interrupted at
once. A hands-free turn that began while the character spoke and never passed the gate was the
character's own echo, and is dropped. The cleaned stream is recorded as the person's track
(silence while muted) and the raw one beside it (`microphone.wav`); the cleaned level is
reported as `AudioLevel` events ("person"), one per capture block, for meters and waveforms.

Nothing here knows about Qt: the window's worker (`app.workers.session`) forwards the events.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from app.asr.endpoint import Utterance, chunk_streams
from app.asr.vad import SpeechStart, VadConfig
from app.audio.echo import EchoConfig
from app.conversation.bargein import BargeInConfig, BargeInDetector, PlayedHistory, TappedSink
from app.conversation.events import Error, Event, Hearing, State, level_of
from app.core import ASR_RATE, SAMPLE_RATE
from app.errors import UserError

if TYPE_CHECKING:  # the devices and models are imported when the session starts
    from argparse import Namespace

    from app.asr.endpoint import PushToTalk, TurnDetector
    from app.asr.vad import StreamingVad
    from app.audio.capture import Capture, CaptureChunk
    from app.audio.echo import EchoCanceller
    from app.audio.playback import Playback
    from app.audio.resample import StreamResampler
    from app.brains.base import Brain
    from app.conversation.character import Character
    from app.conversation.options import SessionOptions
    from app.conversation.pipeline import TurnPipeline
    from app.conversation.session import Session
    from app.conversation.setup import Transcriber
    from app.tts.engine import Dia2Engine

log = logging.getLogger(__name__)

# a chunk of the microphone: 16 kHz audio, 24 kHz audio, where each starts in its stream
_Streams = tuple[np.ndarray, np.ndarray, int | None, int | None]


@dataclass(frozen=True)
class LiveConfig:
    """How a live session listens and plays."""

    input: str | int | None = None  # microphone (name, part of it, or index); None: default
    output: str | int | None = None  # speaker; None: default
    hands_free: bool = True  # voice activity ends turns; False: push-to-talk only
    headphones: bool = False  # no echo expected: any speech interrupts, no echo canceller
    echo: EchoConfig = field(default_factory=EchoConfig)  # the microphone's echo canceller
    vad: VadConfig = field(default_factory=VadConfig)  # voice activity settings
    greeting: bool = True  # say the character's greeting at the start
    max_frames: int | None = None  # cap on each reply's frames (quick demos)
    hold_max_s: float = 0.5  # a hold that voice activity does not confirm ends after this


class LiveSession:
    """One live conversation on the sound devices. `start()`, then talk; `stop()` ends it.

    Args:
        character: the `Character`.
        opts: the `SessionOptions` (models, brain).
        config: devices and listening behaviour.
        out: the recording folder (None: a new one in the user data folder).
        on_event: receives every pipeline event plus the microphone's `AudioLevel`s, on worker
            threads; must return quickly.
        models: an (engine, recognizer) pair to reuse instead of loading.
        brain: a brain to use instead of the one `opts` names.
    """

    # set by start(), used by the capture reader it starts
    _sink: TappedSink  # the speaker's sink, tapped into the played history
    _history: PlayedHistory  # what the speaker played (the echo gate's and canceller's reference)
    _gate: BargeInDetector  # the echo gate
    _vad: StreamingVad  # voice activity on the cleaned microphone
    _turns: TurnDetector  # voice activity -> the person's turns

    def __init__(self, character: Character, opts: SessionOptions, config: LiveConfig = LiveConfig(),
                 *, out: Path | None = None, on_event: Callable[[Event], None] | None = None,
                 models: tuple[Dia2Engine, Transcriber] | None = None, brain: Brain | None = None,
                 clock: Callable[[], float] = time.perf_counter, replace: bool = False) -> None:
        self.character = character
        self.opts = opts
        self.config = config
        self.out = out
        self.replace = replace  # record over a session already in `out`
        self.models = models
        self._brain = brain
        self._emit = on_event if on_event is not None else (lambda e: None)
        self.clock = clock
        self.session: Session | None = None
        self.playback: Playback | None = None
        self.capture: Capture | None = None
        self.failure: UserError | None = None  # a device failure that ended the session
        self.failed = threading.Event()
        self.barge_ins: list[float] = []  # clock times at which the echo gate interrupted
        self.holds: list[float] = []  # clock times at which playback was held for a suspected voice
        self._held_at: float | None = None  # when the current hold began
        self._hands_free = config.hands_free
        self._muted = False
        self._echo_turn = False
        self._barged = False
        self._ptt: PushToTalk | None = None  # the talk key's turns (once started)
        self._aec: EchoCanceller | None = None  # the echo canceller, when one cleans the microphone
        # the cleaned 24 kHz stream resampled for voice activity and recognition (with `_aec`)
        self._to16: StreamResampler | None = None

    # -- lifecycle -------------------------------------------------------------------------------
    def start(self) -> LiveSession:
        """Load the models (unless given), open the speaker, the session and the microphone.

        Raises `UserError` (nothing left open) when a device or a model cannot be opened.
        """
        from app.asr.endpoint import PushToTalk, TurnDetector
        from app.asr.vad import StreamingVad
        from app.audio.capture import Capture, CaptureConfig
        from app.audio.echo import EchoCanceller
        from app.audio.playback import Playback, PlaybackConfig
        from app.audio.resample import StreamResampler
        from app.conversation.pipeline import PipelineConfig
        from app.conversation.session import Session
        from app.conversation.setup import new_session_folder, open_models
        from app.conversation.sinks import DeviceSink

        if self.models is None:
            self.models = open_models(self.opts)
        history = self._history = PlayedHistory()
        try:
            if self.cancelling:
                self._aec = EchoCanceller(self.config.echo)
                self._to16 = StreamResampler(SAMPLE_RATE, ASR_RATE)
            self.playback = playback = Playback(PlaybackConfig(device=self.config.output)).start()
            self._sink = TappedSink(DeviceSink(playback, self.clock), history)
            self.out = self.out or new_session_folder(self.character)
            self.session = Session.open(
                self.character, self._sink, out=self.out, opts=self.opts, models=self.models,
                brain=self._brain, on_event=self._emit, realtime=True, clock=self.clock,
                config=PipelineConfig(max_frames=self.config.max_frames), replace=self.replace)
            self._gate = BargeInDetector(BargeInConfig(headphones=self.config.headphones), history)
            self._vad = StreamingVad(self.config.vad)
            self._turns = TurnDetector(self._vad)
            self._ptt = PushToTalk()
            self.capture = capture = Capture(CaptureConfig(device=self.config.input),
                                             on_chunk=self._on_chunk, on_error=self._on_error)
            capture.start()
        except BaseException:
            self.stop()
            raise
        if self.character.greeting and self.config.greeting:
            self.pipeline.say(self.character.greeting)
        return self

    def stop(self) -> None:
        """Stop listening and speaking, finish the recording. Safe to call twice."""
        if self.capture is not None:
            self.capture.stop()
        self._release_hold()
        if self.session is not None:
            self.session.close()
        if self.playback is not None:
            self.playback.stop()

    def __enter__(self) -> LiveSession:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def pipeline(self) -> TurnPipeline:
        """The running session's pipeline (once `start()` opened the session)."""
        if self.session is None:
            raise RuntimeError("the live session is not started")
        return self.session.pipeline

    @property
    def cancelling(self) -> bool:
        """Whether an echo canceller cleans the microphone (not with headphones)."""
        return not self.config.headphones and self.config.echo.canceller == "aec3"

    def timeline_now(self) -> float:
        """Seconds since the session began (the recording's time axis)."""
        return self.pipeline.timeline.now() if self.session is not None else 0.0

    # -- commands (any thread) -------------------------------------------------------------------
    @property
    def hands_free(self) -> bool:
        return self._hands_free

    def set_hands_free(self, on: bool) -> None:
        """Hands-free (voice activity ends turns) or push-to-talk."""
        self._hands_free = bool(on)

    @property
    def muted(self) -> bool:
        return self._muted

    def set_muted(self, on: bool) -> None:
        """A muted microphone is recorded as silence and starts no turn."""
        self._muted = bool(on)
        if on and self._ptt is not None:
            self._ptt.release()

    def press_to_talk(self) -> None:
        """The talk key went down: the character stops, the person's turn starts."""
        if self._muted or self._ptt is None:
            return
        self.stop_speaking()
        self._ptt.press()

    def release_to_talk(self) -> None:
        """The talk key came up: the turn since `press_to_talk` goes to the pipeline."""
        if self._ptt is None:
            return
        utt = self._ptt.release()
        if utt is not None and len(utt.audio16k) >= 1600:  # at least 0.1 s
            self.pipeline.submit_turn(utt.audio24k, audio16k=utt.audio16k, record_audio=False,
                                      speech_end=self.clock())

    def stop_speaking(self) -> bool:
        """Stop the character now (as an interruption). True if it was speaking."""
        return self.session is not None and self.pipeline.interrupt()

    def say(self, text: str) -> None:
        """The character says `text` (typed), after what is already queued."""
        self.pipeline.say(text)

    # -- the capture reader thread ---------------------------------------------------------------
    def _on_chunk(self, chunk: CaptureChunk) -> None:
        muted = self._muted
        raw16, raw24, s16, s24 = self._microphone(chunk, muted)
        at = max(0.0, self.pipeline.timeline.now() - len(raw24) / SAMPLE_RATE)
        a16, a24, s16, s24 = self._cancel_echo(chunk, raw16, raw24, s16, s24)
        self._record(at, raw24, a24)
        self._emit(level_of(a24, "person", at))
        if not muted:
            assert self._ptt is not None  # made by start() before the microphone opened
            self._ptt.feed(a16, a24, s16, s24)
        speaking = self.pipeline.state in (State.SPEAKING, State.THINKING)
        # The detector always runs (its positions follow the capture stream); its turns count
        # only when hands-free.
        events = self._turns.feed(a16, a24, s16, s24)
        if not self._hands_free or muted:
            self._release_hold()
            return
        self._watch_barge_in(chunk, a24, speaking)
        self._take_turns(events, speaking)

    @staticmethod
    def _microphone(chunk: CaptureChunk, muted: bool) -> _Streams:
        """The chunk's 16 and 24 kHz audio (silence when muted) and where each starts in its
        stream."""
        raw16, raw24, s16, s24 = chunk_streams(chunk)
        assert raw24 is not None, "the capture resamples to 24 kHz (CaptureConfig.output_rates)"
        if muted:
            raw16, raw24 = np.zeros_like(raw16), np.zeros_like(raw24)
        else:  # a clipping microphone (or the resampler's overshoot on it) stays in range
            raw16, raw24 = np.clip(raw16, -1.0, 1.0), np.clip(raw24, -1.0, 1.0)
        return raw16, raw24, s16, s24

    def _cancel_echo(self, chunk: CaptureChunk, raw16: np.ndarray, raw24: np.ndarray,
                     s16: int | None, s24: int | None) -> _Streams:
        """The microphone with the character's echo taken out, when a canceller runs."""
        if self._aec is None:
            return raw16, raw24, s16, s24
        assert self._to16 is not None  # made with the canceller
        # the character's echo out, before anyone listens (one 10 ms frame later)
        a24 = self._aec.process(raw24, self._reference(chunk, len(raw24)))
        a16 = self._to16.process(a24)
        return a16, a24, None, None  # the cleaned streams count their own samples

    def _record(self, at: float, raw24: np.ndarray, a24: np.ndarray) -> None:
        """The person's track (cleaned), and the raw microphone beside it when cleaned."""
        assert self.session is not None  # opened by start() before the microphone
        recorder = self.session.recorder
        if recorder is not None:
            recorder.write("person", round(at * SAMPLE_RATE), a24)
            if self._aec is not None:
                recorder.write_side("microphone", round(at * SAMPLE_RATE), raw24)

    def _watch_barge_in(self, chunk: CaptureChunk, a24: np.ndarray, speaking: bool) -> None:
        """The echo gate on the chunk: interrupt the reply when the person speaks over it, hold
        playback while that is suspected, release the hold otherwise."""
        # the gate judges what the recogniser will hear: the cleaned microphone when a canceller
        # runs (one frame later, so the playhead it compares with is one frame earlier)
        late = self._aec.latency if self._aec is not None else 0
        if self._gate.feed(a24, self._played_position(chunk) - late, speaking,
                           self._vad.in_speech) and not self._barged:
            self._barged = True
            self.barge_ins.append(self.clock())
            if self.pipeline.interrupt():
                log.info("barge-in (echo delay %.0f ms, echo gain %.1f dB)",
                         1000 * self._gate.delay_s, self._gate.echo_gain_db)
            self._release_hold()
        elif not speaking or self._barged:
            self._release_hold()
        elif self._gate.suspects and self._held_at is None:
            # Perhaps the person: hold playback at once, until voice activity confirms (then the
            # reply is cut) or `hold_max_s` passes without it (then it plays on).
            self._held_at = self.clock()
            self.holds.append(self._held_at)
            self._sink.pause()
        elif self._held_at is not None and self.clock() - self._held_at > self.config.hold_max_s:
            self._release_hold()

    def _take_turns(self, events: list[SpeechStart | Utterance], speaking: bool) -> None:
        """The turn detector's events: a turn that ended goes to the pipeline (unless it was
        the character's echo); speech that started is reported."""
        for ev in events:
            if isinstance(ev, Utterance):  # the person's turn ended
                if self._echo_turn and not self._barged:
                    log.info("dropped a turn heard while the character spoke (echo)")
                else:
                    self.pipeline.submit_turn(ev.audio24k, audio16k=ev.audio16k,
                                              record_audio=False, speech_end=self.clock())
                self._echo_turn = self._barged = False
                self._emit(Hearing(False))
            else:  # speech started
                self._echo_turn = speaking and not self.config.headphones
                if not self._echo_turn:
                    self._emit(Hearing(True))

    def _release_hold(self) -> None:
        if self._held_at is not None:
            self._held_at = None
            self._sink.resume()

    def _reference(self, chunk: CaptureChunk, n: int) -> np.ndarray:
        """What the speakers played while each of the chunk's last `n` 24 kHz samples was
        captured, `lead_ms` ahead: the canceller's reference. From the two streams' clocks and
        the played history; silence while playback is held or dry."""
        assert self.capture is not None and self.playback is not None  # both open while it runs
        lead = self.config.echo.lead_ms / 1000
        step = np.arange(n, dtype=np.float64)
        t = self.capture.time_of(chunk.start + len(chunk.samples) - 1) if len(chunk.samples) \
            else None
        if t is None or t <= 0:  # no capture clock: the playhead now, as the gate does
            end = self._sink.position() + lead * SAMPLE_RATE
            return self._history.at(np.floor(end - n + step))
        times = t + 1 / chunk.rate - (n - step) / SAMPLE_RATE + lead
        pos = self.playback.positions(times)
        ref = self._history.at(np.floor(pos))
        if n:  # a playhead that stands (held, dry, before the first block) plays silence
            moving = np.diff(pos, prepend=pos[0] - 1.0) > 0.5
            ref[~moving] = 0.0
        return ref

    def _played_position(self, chunk: CaptureChunk) -> float:
        """The playback position when the chunk's last sample was captured (both streams' clocks
        are PortAudio stream time); the position now if the capture clock cannot say."""
        assert self.capture is not None and self.playback is not None  # both open while it runs
        now = self._sink.position()
        t = self.capture.time_of(chunk.start + len(chunk.samples) - 1)
        if t is None or t <= 0:
            return now
        at = self.playback.position(t + 1 / chunk.rate)
        return at if abs(at - now) < SAMPLE_RATE else now  # a clock that disagrees by 1 s is not used

    def _on_error(self, exc: UserError) -> None:
        self.failure = exc
        self._emit(Error(str(exc), "audio", fatal=True))
        self.failed.set()


def run_live(args: Namespace, character: Character, opts: SessionOptions,
             show: Callable[[Event], None], brain: Brain | None = None) -> int:
    """The terminal chat: talk until Ctrl+C (the normal end: exit code 0). Returns the exit code;
    SIGTERM also finishes the recording (see app.cli)."""
    from app.conversation.events import AudioLevel

    def on_event(event: Event) -> None:
        if not isinstance(event, AudioLevel):
            show(event)

    config = LiveConfig(input=args.input, output=args.output, headphones=args.headphones,
                        echo=EchoConfig(canceller=args.echo_canceller,
                                        noise_suppression=args.noise_suppression),
                        greeting=not args.no_greeting, max_frames=args.max_frames)
    live = LiveSession(character, opts, config, out=Path(args.out) if args.out else None,
                       on_event=on_event, brain=brain, replace=args.force)
    try:
        live.start()
    except BaseException:
        if brain is not None:
            brain.close()
        raise
    print(f"Talking with {character.name}. Speak after the greeting; Ctrl+C ends the chat. "
          f"Recording to {live.out}", file=sys.stderr)
    try:
        while not live.failed.wait(0.2):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        live.stop()
    if live.failure is not None:
        raise live.failure
    print(f"recorded {live.out}", file=sys.stderr)
    return 0
