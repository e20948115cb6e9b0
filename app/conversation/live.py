"""The terminal voice chat: microphone -> turns -> the pipeline -> speakers, with barge-in.

The capture reader delivers chunks; voice activity cuts them into the person's turns
(`app.asr.TurnDetector`), which go to the pipeline. While the character speaks, every chunk goes
through the `BargeInDetector` (echo gate on the known playback signal); when it fires the
pipeline is interrupted at once. A turn that began while the character spoke and never passed
the gate was the character's own echo, and is dropped. The whole microphone stream is recorded
as the person's track.
"""

from __future__ import annotations

import logging
import sys
import threading
import time

from app.conversation.bargein import BargeInConfig, BargeInDetector, PlayedHistory, TappedSink
from app.conversation.events import State
from app.errors import UserError

log = logging.getLogger(__name__)


def run_live(args, character, opts, show) -> int:
    """Talk until Ctrl+C. Returns the exit code."""
    from pathlib import Path

    from app.asr.endpoint import TurnDetector, Utterance
    from app.asr.vad import StreamingVad, VadConfig
    from app.audio.capture import Capture, CaptureConfig
    from app.audio.playback import Playback, PlaybackConfig
    from app.conversation.pipeline import PipelineConfig
    from app.conversation.runner import Session
    from app.conversation.session import new_session_folder, open_models
    from app.conversation.sinks import DeviceSink

    models = open_models(opts)
    playback = Playback(PlaybackConfig(device=args.output)).start()
    history = PlayedHistory()
    sink = TappedSink(DeviceSink(playback), history)
    out = Path(args.out) if args.out else new_session_folder(character)
    clock = time.perf_counter
    session = Session.open(character, sink, out=out, opts=opts, models=models, on_event=show,
                           realtime=True, config=PipelineConfig(max_frames=args.max_frames), clock=clock)
    p = session.pipeline
    gate = BargeInDetector(BargeInConfig(headphones=args.headphones), history)
    vad = StreamingVad(VadConfig())
    turns = TurnDetector(vad)
    errors: list[UserError] = []
    stop = threading.Event()
    state = {"echo_turn": False, "barged": False}

    def on_chunk(chunk) -> None:
        a24 = chunk.at(24000)
        if session.recorder is not None:
            at = p.timeline.now() - len(a24) / 24000
            session.recorder.write("person", max(0, round(at * 24000)), a24)
        speaking = p.state in (State.SPEAKING, State.THINKING)
        events = turns.feed_chunk(chunk)
        if gate.feed(a24, sink.position(), speaking, vad.in_speech) and not state["barged"]:
            state["barged"] = True
            p.interrupt()
        for ev in events:
            if isinstance(ev, Utterance):
                if state["echo_turn"] and not state["barged"]:
                    log.info("dropped a turn heard while the character spoke (echo)")
                else:
                    p.submit_turn(ev.audio24k, audio16k=ev.audio16k, record_audio=False,
                                  speech_end=clock())
                state["echo_turn"] = state["barged"] = False
            else:  # speech started
                state["echo_turn"] = speaking and not args.headphones

    def on_error(exc: UserError) -> None:
        errors.append(exc)
        stop.set()

    capture = Capture(CaptureConfig(device=args.input), on_chunk=on_chunk, on_error=on_error)
    print(f"Talking with {character.name}. Speak after the greeting; Ctrl+C ends the chat. "
          f"Recording to {out}", file=sys.stderr)
    try:
        capture.start()
        if character.greeting and not args.no_greeting:
            p.say(character.greeting)
        while not stop.wait(0.2):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        capture.stop()
        session.close()
        playback.stop()
    if errors:
        raise errors[0]
    print(f"recorded {out}", file=sys.stderr)
    return 0
