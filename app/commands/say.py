"""`main.py say`: speak a script with Dia2 to a WAV file and/or the speakers, as it is generated."""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from app.commands.common import (
    add_generation_args,
    add_model_args,
    check_output_file,
    generation_options,
    print_device_notes,
    print_recognition_notice,
    read_script,
    tts_choice,
)
from app.commands.say_script import add_script_args, check_plain_say, run_dialogue, wants_dialogue
from app.core import ASR_RATE, SAMPLE_RATE, Word
from app.errors import UserError
from app.word_times import read_words

if TYPE_CHECKING:
    import numpy as np


def register(sub) -> None:
    p = sub.add_parser(
        "say",
        help="speak a script with Dia2",
        description='Speak a script such as "[S1] Hello there! [S2] Hi, how are you?" with Dia2. '
        "Audio streams to the speakers while it is generated (--play) and/or goes to a WAV file.",
    )
    p.add_argument("script", nargs="?",
                   help="the script text, a .txt file, or - for standard input (or --script FILE)")
    p.add_argument("-o", "--out", help="write a 24 kHz WAV file here (--batch: a folder)")
    p.add_argument("--play", action="store_true", help="play while generating")
    p.add_argument("--output", help="output device for --play (name or index)")
    p.add_argument("--voice", help="condition the voice on this recording (any audio file)")
    p.add_argument("--voice-words", help="JSON word times of --voice (else it is transcribed)")
    p.add_argument("--json", action="store_true", help="print word times and timings as JSON")
    add_script_args(p)
    p.add_argument("--max-frames", type=int, default=None,
                   help="stop after this many generation steps (12.5 a second), for quick checks")
    add_model_args(p)
    add_generation_args(p)
    p.set_defaults(func=run)


def _read_voice(args):
    """(voice audio, its words or None) from --voice / --voice-words, checked before any model
    loads; (None, None) without --voice."""
    from app.codec.voice import prepare_voice

    if not args.voice:
        if args.voice_words:
            raise UserError("--voice-words needs --voice (the recording the words belong to)")
        return None, None
    audio = prepare_voice(args.voice)
    words = read_words(args.voice_words, duration=len(audio) / SAMPLE_RATE) if args.voice_words else None
    return audio, words


def _voice_prefix(args, engine, audio, words):
    from app.tts.prefix import PrefixTurn

    if audio is None:
        return []
    if words is None:
        words = _transcribe(args, audio)
    return [PrefixTurn(1, words, codes=engine.codec.encode(audio))]


def _transcribe(args, audio: np.ndarray):
    """Word times of the voice recording from speech recognition (when --voice-words is absent)."""
    from app.asr.recognizer import AsrConfig, Recognizer
    from app.audio.resample import resample

    if args.demo:
        from app.assets.packaged import packaged_asr_config

        config = packaged_asr_config()
    else:
        config = AsrConfig()
    recognizer = Recognizer(config)
    words = recognizer.transcribe(resample(audio, SAMPLE_RATE, ASR_RATE))
    print_recognition_notice(recognizer)
    if not words:
        raise UserError(f"no words were recognised in {args.voice}; give --voice-words")
    return tuple(Word(w.text, w.start, w.end) for w in words)


def run(args: argparse.Namespace) -> int:
    if wants_dialogue(args):
        return run_dialogue(args)  # a long script in planned generations (app/dialogue)
    script, options, voice, voice_words = _checked_request(args)
    from app.threads import plan_threads, use_torch_threads

    use_torch_threads(plan_threads().dia2_alone)  # no reply model computes beside it
    t0 = time.perf_counter()
    engine, prefix = _load(args, script, options, voice, voice_words)
    t_loaded = time.perf_counter()
    spoken = _speak(args, engine, script, options, prefix)
    t_done = time.perf_counter()
    audio = _write(args, spoken)
    _report(args, spoken, audio, load_s=t_loaded - t0, total_s=t_done - t_loaded,
            first_audio_s=spoken.first_audio - t_loaded if spoken.first_audio else None)
    return 0


def _checked_request(args: argparse.Namespace) -> tuple[str, Any, Any, Any]:
    """(script, generation options, voice audio, its words): every check before any model loads
    or audio is made."""
    check_plain_say(args)
    if args.script is None:
        raise UserError('say needs a script: "[S1] Hello!", a .txt file, - for standard input, '
                        "or --script FILE for a long one")
    if not args.out and not args.play:
        raise UserError("say needs -o FILE.wav, --play, or both")
    if args.out:
        check_output_file(args.out)
    script = read_script(args.script)
    options = generation_options(args, max_frames=args.max_frames)
    voice, voice_words = _read_voice(args)
    return script, options, voice, voice_words


def _load(args: argparse.Namespace, script: str, options, voice, voice_words) -> tuple[Any, list]:
    """(the loaded engine, the voice prefix), with the check that script and prefix fit."""
    from app.assets.tts_loader import load_tts

    engine = load_tts(tts_choice(args))
    print_device_notes(args, engine)
    prefix = _voice_prefix(args, engine, voice, voice_words)
    engine.check_fits(engine.parse(script), options, engine.plan_prefix(prefix))
    return engine, prefix


@dataclass
class _Spoken:
    """What a generation gave: its stream, the audio blocks and words so far."""

    stream: Any  # the engine's generation stream (its seed, stats and truncation)
    pcm: list = field(default_factory=list)  # audio blocks at SAMPLE_RATE, in order
    words: list = field(default_factory=list)  # word events, in order
    first_audio: float | None = None  # perf_counter when the first audio came


def _speak(args: argparse.Namespace, engine, script: str, options, prefix) -> _Spoken:
    """Generate `script`, playing it as it comes with --play. Interrupted (Ctrl+C, SIGTERM), the
    audio made so far is kept in --out."""
    playback = None
    if args.play:
        from app.audio.playback import Playback, PlaybackConfig

        playback = Playback(PlaybackConfig(device=args.output)).start()
    stream = engine.stream(options, prefix)
    stream.push_text(script)
    stream.finish()
    spoken = _Spoken(stream)
    try:
        for event in stream:
            if hasattr(event, "pcm"):
                if spoken.first_audio is None:
                    spoken.first_audio = time.perf_counter()
                spoken.pcm.append(event.pcm)
                if playback is not None:
                    playback.write(event.pcm)
            else:
                spoken.words.append(event)
                if not args.json:
                    print(f"{event.start:7.2f}s  {event.word}", file=sys.stderr)
        if playback is not None:
            playback.end()
            playback.wait()
    except BaseException:  # Ctrl+C, SIGTERM: keep the audio made so far
        stream.cancel()
        if args.out and spoken.pcm:
            _write_partial(args.out, spoken.pcm)
        raise
    finally:
        if playback is not None:
            playback.stop()
    return spoken


def _write_partial(out: str, pcm: list) -> None:
    """Write the audio made before an interruption to `out`, and say so."""
    import numpy as np

    from app.audio.files import write_audio

    write_audio(out, np.concatenate(pcm), SAMPLE_RATE, subtype="PCM_16")
    print(f"stopped: the {len(pcm) * len(pcm[0]) / SAMPLE_RATE:.2f} s made so far are in "
          f"{out}", file=sys.stderr)


def _write(args: argparse.Namespace, spoken: _Spoken) -> np.ndarray:
    """The whole audio, written to --out when given; a note when the script was cut short."""
    import numpy as np

    audio = np.concatenate(spoken.pcm) if spoken.pcm else np.zeros(0, dtype=np.float32)
    if args.out:
        from app.audio.files import write_audio

        write_audio(args.out, audio, SAMPLE_RATE, subtype="PCM_16")
    if spoken.stream.truncated and args.max_frames is not None:
        print(f"stopped after --max-frames {args.max_frames} steps, before the whole script was "
              "spoken", file=sys.stderr)
    elif spoken.stream.truncated:
        print("warning: the context ran out before the whole script was spoken", file=sys.stderr)
    return audio


def _report(args: argparse.Namespace, spoken: _Spoken, audio: np.ndarray, *, load_s: float,
            total_s: float, first_audio_s: float | None) -> None:
    """The words and timings as JSON with --json, else one line naming the file written."""
    stream = spoken.stream
    report = {
        "output": args.out,
        "seconds": round(len(audio) / SAMPLE_RATE, 3),
        "seed": stream.seed,
        "words": [{"word": w.word, "start": round(w.start, 3)} for w in spoken.words],
        "timings": {
            "load_s": round(load_s, 3),
            "first_audio_s": round(first_audio_s, 3) if first_audio_s is not None else None,
            "total_s": round(total_s, 3),
            "frames": stream.stats.frames,
            "ms_per_frame": round(1000 * stream.stats.step_seconds / max(stream.stats.steps, 1), 2),
        },
        "truncated": stream.truncated,
    }
    if args.json:
        print(json.dumps(report, indent=1))
    elif args.out:
        print(f"wrote {args.out} ({report['seconds']:.2f} s)", file=sys.stderr)
