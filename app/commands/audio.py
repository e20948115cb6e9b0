"""Audio subcommands: `devices`, `listen`, `transcribe FILE`, `play FILE`.

`--demo` recognises with Whisper base from its Python packages (no download); `--input` / `--output` pick devices by name or index.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import queue
import sys
import threading
import time
from typing import TYPE_CHECKING

from app.core import ASR_RATE, FRAME_SAMPLES, SAMPLE_RATE
from app.errors import UserError

if TYPE_CHECKING:
    import numpy as np

log = logging.getLogger(__name__)

PROGRESS_MIN_S = 30.0  # transcribe shows its progress for recordings at least this long
JOIN_TIMEOUT_S = 30.0  # longest wait for listen's helper threads at the end


# -- shared options ------------------------------------------------------------------------------
def _add_asr_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--demo",
        action="store_true",
        help="use Whisper base from the installed packages (no download)",
    )
    p.add_argument(
        "--model",
        help="recognition model: size name (base.en, large-v3-turbo...), "
        "Hugging Face id or local folder (default: base.en on CPU, large-v3-turbo on GPU)",
    )
    p.add_argument(
        "--asr-device",
        default="auto",
        choices=("auto", "cpu", "cuda"),
        help="where recognition runs (default: auto)",
    )
    p.add_argument(
        "--compute-type",
        default="auto",
        help="CTranslate2 compute type (default: float16 on GPU, int8 on CPU)",
    )
    p.add_argument("--offline", action="store_true", help="never download a model")


def _recognizer(args):
    from app.asr.recognizer import AsrConfig, Recognizer
    from app.assets.packaged import packaged_asr_config

    if args.demo:
        return Recognizer(packaged_asr_config())
    return Recognizer(
        AsrConfig(
            model=args.model,
            device=args.asr_device,
            compute_type=args.compute_type,
            allow_download=not args.offline,
        )
    )


def _say_notice(recognizer) -> None:
    """Once: recognition moved from the GPU to the CPU, and why."""
    notice = recognizer.take_notice()
    if notice:
        print(f"note: {notice}", file=sys.stderr)


def _format_words(words) -> str:
    if not words:
        return "  (no words)"
    return "\n".join(
        f"  {w.start:6.2f}-{w.end:6.2f}  {w.text}  ({w.probability:.2f})" for w in words
    )


# -- devices -------------------------------------------------------------------------------------
def _cmd_devices(args) -> int:
    from app.audio.devices import list_devices

    devices = list_devices()
    if not devices:
        raise UserError(
            "no sound devices found: check that PulseAudio or PipeWire is running (`pactl info`) "
            "and that this user may use the sound card (the audio group); without sound devices, "
            "`chat --headless` and `say -o FILE` still work")
    print(f"{'':2}{'idx':>3}  {'name':40} {'host API':14} {'in':>3} {'out':>3} {'rate':>7}")
    for d in devices:
        mark = ("<" if d.is_default_input else " ") + (">" if d.is_default_output else " ")
        print(
            f"{mark}{d.index:>3}  {d.name[:40]:40} {d.hostapi[:14]:14} "
            f"{d.max_input_channels:>3} {d.max_output_channels:>3} {d.default_samplerate:>7.0f}"
        )
    print("< default input   > default output")
    return 0


# -- listen --------------------------------------------------------------------------------------
def _meter(rms: float, speaking: bool, width: int = 30) -> str:
    db = 20 * math.log10(max(rms, 1e-6))
    filled = int(round(min(max((db + 60) / 60, 0.0), 1.0) * width))
    return f"\r[{'#' * filled}{' ' * (width - filled)}] {db:6.1f} dB {'speech' if speaking else '      '}"


def _cmd_listen(args) -> int:
    from app.audio.capture import Capture, CaptureConfig

    recognizer = _recognizer(args)
    recognizer.load()  # fail early on a missing model, before opening the microphone
    _say_notice(recognizer)
    cap = Capture(CaptureConfig(device=args.input, samplerate=args.rate))
    utterances: queue.Queue = queue.Queue()
    worker = threading.Thread(
        target=_recognise_turns, args=(recognizer, utterances), name="recognise", daemon=True
    )
    worker.start()
    ptt, turns = _turn_source(args)
    stop_keys = threading.Event()
    keys_thread = None
    if ptt:
        keys_thread = threading.Thread(
            target=_push_to_talk_keys, args=(ptt, utterances, stop_keys), name="keys", daemon=True
        )
        keys_thread.start()
        print("press Enter to start talking, Enter again to stop; Ctrl+C quits", file=sys.stderr)
    else:
        print("listening; speak, and pause to end a turn; Ctrl+C quits", file=sys.stderr)
    print(f"input: {cap.device.name} at {cap.rate} Hz", file=sys.stderr)
    try:
        _listen_loop(cap, ptt, turns, utterances, args.seconds)
    finally:
        utterances.put(None)
        stop_keys.set()
        worker.join(JOIN_TIMEOUT_S)  # the utterance being recognised is finished first
        if keys_thread is not None:
            keys_thread.join(JOIN_TIMEOUT_S)
        print(file=sys.stderr)
    if cap.overruns or cap.device_overflows:
        print(
            f"note: {cap.overruns} samples lost, {cap.device_overflows} device overflows",
            file=sys.stderr,
        )
    return 0


def _recognise_turns(recognizer, utterances: queue.Queue) -> None:
    """Recognise each utterance put on `utterances` and print its words, until None comes."""
    while (utt := utterances.get()) is not None:
        t0 = time.perf_counter()
        words = recognizer.transcribe(utt.audio16k)
        took = time.perf_counter() - t0
        print(
            f"\nutterance at {utt.start_seconds:.2f} s, {utt.duration:.2f} s long "
            f"(recognised in {took:.2f} s):\n{_format_words(words)}",
            flush=True,
        )


def _turn_source(args):
    """(push-to-talk, None) with --push-to-talk, else (None, a turn detector on Silero's voice
    activity with the command's thresholds)."""
    from app.asr.endpoint import PushToTalk, TurnDetector
    from app.asr.vad import StreamingVad, VadConfig

    if args.push_to_talk:
        return PushToTalk(), None
    vad = StreamingVad(
        VadConfig(
            threshold=args.threshold,
            end_silence_ms=args.end_silence_ms,
            min_speech_ms=args.min_speech_ms,
        )
    )
    return None, TurnDetector(vad)


def _push_to_talk_keys(ptt, utterances: queue.Queue, stop: threading.Event) -> None:
    """Enter starts and stops talking: each finished turn goes on `utterances`. Ends at the end
    of input or when `stop` is set."""
    import select

    while not stop.is_set():  # wakes every 0.1 s, so it can be joined at the end
        ready, _, _ = select.select([sys.stdin], [], [], 0.1)
        if not ready:
            continue
        if not sys.stdin.readline():
            return  # end of input
        if ptt.pressed:
            utt = ptt.release()
            if utt is not None:
                utterances.put(utt)
            print("\n(stopped: press Enter to talk)", file=sys.stderr)
        else:
            ptt.press()
            print("\n(recording: press Enter to stop)", file=sys.stderr)


def _listen_loop(cap, ptt, turns, utterances: queue.Queue, seconds: float | None) -> None:
    """Capture for `seconds` (None: until interrupted), feeding the push-to-talk or the turn
    detector, putting each finished utterance on `utterances` and drawing the level meter."""
    from app.asr.endpoint import Utterance
    from app.asr.vad import SpeechStart

    deadline = None if seconds is None else time.monotonic() + seconds
    with cap:
        while deadline is None or time.monotonic() < deadline:
            chunk = cap.get(timeout=0.1)
            if chunk is None:
                continue
            if ptt:
                ptt.feed_chunk(chunk)
                speaking = ptt.pressed
            else:
                for ev in turns.feed_chunk(chunk):
                    if isinstance(ev, Utterance):
                        utterances.put(ev)
                    elif isinstance(ev, SpeechStart):
                        log.debug("speech started at %d", ev.start)
                speaking = turns.vad.in_speech
            print(_meter(chunk.rms, speaking), end="", file=sys.stderr, flush=True)


# -- transcribe ----------------------------------------------------------------------------------
def _cmd_transcribe(args) -> int:
    from app.audio.files import read_audio

    audio, rate = read_audio(args.file, ASR_RATE)
    recognizer = _recognizer(args)
    total = len(audio) / rate
    t0 = time.perf_counter()

    def progress(done: float) -> None:  # on stderr, so stdout stays the result
        if total >= PROGRESS_MIN_S:
            print(f"\rtranscribing: {done:7.1f} / {total:.1f} s", end="", file=sys.stderr, flush=True)

    words = recognizer.transcribe(audio, progress=progress)
    if total >= PROGRESS_MIN_S:
        print(file=sys.stderr)
    took = time.perf_counter() - t0
    _say_notice(recognizer)
    if args.json:
        print(
            json.dumps(
                {
                    "file": str(args.file),
                    "duration": len(audio) / rate,
                    "model": recognizer.model_name,
                    "seconds": round(took, 3),
                    "words": [
                        {
                            "text": w.text,
                            "start": round(w.start, 3),
                            "end": round(w.end, 3),
                            "probability": round(w.probability, 4),
                        }
                        for w in words
                    ],
                },
                indent=2,
            )
        )
    else:
        print(
            f"{args.file}: {len(audio) / rate:.2f} s, {len(words)} words "
            f"({took:.2f} s with {recognizer.model_name})"
        )
        print(_format_words(words))
    return 0


# -- play ----------------------------------------------------------------------------------------
def _demo_clip(rate: int = SAMPLE_RATE) -> np.ndarray:
    """A short rising three-note chime: something to play without a file."""
    import numpy as np

    parts = []
    for f in (523.25, 659.25, 783.99):
        t = np.arange(int(0.3 * rate)) / rate
        parts.append(0.3 * np.sin(2 * np.pi * f * t) * np.exp(-4 * t))
    return np.concatenate(parts).astype(np.float32)


def _cmd_play(args) -> int:
    from app.audio.files import read_audio
    from app.audio.playback import Playback, PlaybackConfig

    if args.file is None and not args.demo:
        raise UserError("give a FILE to play, or --demo for a short test sound")
    audio = _demo_clip() if args.file is None else read_audio(args.file, SAMPLE_RATE)[0]
    frames = (audio[i : i + FRAME_SAMPLES] for i in range(0, len(audio), FRAME_SAMPLES))
    with Playback(PlaybackConfig(device=args.output)) as pb:
        print(
            f"output: {pb.device.name} at {pb.rate} Hz, latency {1000 * pb.latency:.0f} ms",
            file=sys.stderr,
        )
        pb.feed(frames)
        total = len(audio) / SAMPLE_RATE
        while not pb.wait(timeout=0.1):
            print(
                f"\r{pb.position() / SAMPLE_RATE:6.2f} / {total:.2f} s",
                end="",
                file=sys.stderr,
                flush=True,
            )
        print(f"\r{total:6.2f} / {total:.2f} s", file=sys.stderr)
        if pb.underrun_events:
            print(f"note: {pb.underrun_events} underruns", file=sys.stderr)
    return 0


def register(sub) -> None:
    """Add the audio subcommands."""
    p = sub.add_parser("devices", help="list sound devices")
    p.set_defaults(func=_cmd_devices)

    p = sub.add_parser("listen", help="detect speech on the microphone and print its words")
    p.add_argument("--input", help="input device name (or part of it) or index")
    p.add_argument("--rate", type=int, help="capture rate in Hz (default: the device's own)")
    p.add_argument(
        "--push-to-talk",
        action="store_true",
        help="record between two Enter presses instead of detecting speech",
    )
    p.add_argument("--threshold", type=float, default=0.5, help="speech threshold 0..1")
    p.add_argument(
        "--end-silence-ms", type=int, default=500, help="silence that ends a turn (default 500 ms)"
    )
    p.add_argument(
        "--min-speech-ms",
        type=int,
        default=250,
        help="shortest sound taken as speech (default 250 ms)",
    )
    p.add_argument("--seconds", type=float, help="stop after this long")
    _add_asr_options(p)
    p.set_defaults(func=_cmd_listen)

    p = sub.add_parser("transcribe", help="print the words of an audio file with their times")
    p.add_argument("file", help="WAV, FLAC, OGG, MP3... file")
    p.add_argument("--json", action="store_true", help="print JSON")
    _add_asr_options(p)
    p.set_defaults(func=_cmd_transcribe)

    p = sub.add_parser("play", help="play a file through the low-latency playback path")
    p.add_argument("file", nargs="?", help="audio file (omit with --demo for a test sound)")
    p.add_argument("--output", help="output device name (or part of it) or index")
    p.add_argument("--demo", action="store_true", help="play a short test sound if no FILE")
    p.set_defaults(func=_cmd_play)
