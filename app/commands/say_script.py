"""`main.py say --script` and `say --batch`: dialogues of any length, rendered in planned generations.

    say --script episode.txt -o episode.wav [--voice-s1 a.wav --voice-s2 b.wav] [--resume]
    say --batch scripts/ --out rendered/

The work is done by `app.dialogue.episode`; this module reads the options, checks what it can
before loading the models, shows a progress bar with the time left on standard error, and turns
an interruption into a hint to resume.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from app.errors import UserError


def add_script_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("long dialogues (--script, --batch)")
    g.add_argument("--script", dest="script_file", metavar="FILE",
                   help="render this script file of any length (turns marked [S1] / [S2]) in "
                   "planned generations; -o names the output WAV")
    g.add_argument("--batch", metavar="FOLDER",
                   help="render every .txt script in FOLDER into --out DIR, skipping finished ones "
                   "and resuming unfinished ones")
    g.add_argument("--voice-s1", metavar="AUDIO", help="voice sample of [S1], kept in every generation")
    g.add_argument("--voice-s2", metavar="AUDIO", help="voice sample of [S2], kept in every generation")
    g.add_argument("--voice-words-s1", metavar="JSON", help="word times of --voice-s1 (else recognised)")
    g.add_argument("--voice-words-s2", metavar="JSON", help="word times of --voice-s2 (else recognised)")
    g.add_argument("--resume", action="store_true",
                   help="continue the unfinished render beside the output (same script, voices, "
                   "model and seed give the same audio as an uninterrupted render)")


def wants_dialogue(args: argparse.Namespace) -> bool:
    """Whether `say` was asked for a long dialogue (--script / --batch)."""
    return bool(args.script_file or args.batch)


def check_plain_say(args: argparse.Namespace) -> None:
    """The dialogue options make no sense without --script / --batch."""
    for name in ("voice_s1", "voice_s2", "voice_words_s1", "voice_words_s2", "resume"):
        if getattr(args, name):
            flag = "--" + name.replace("_", "-")
            raise UserError(f"{flag} is for long scripts: use it with --script FILE or --batch FOLDER")


def _voices(args: argparse.Namespace) -> dict:
    from app.dialogue.voices import VoiceSource

    voices = {}
    for s in (1, 2):
        audio, words = getattr(args, f"voice_s{s}"), getattr(args, f"voice_words_s{s}")
        if words and not audio:
            raise UserError(f"--voice-words-s{s} needs --voice-s{s} (the recording the words belong to)")
        if audio:
            voices[s] = VoiceSource(Path(audio), Path(words) if words else None)
    return voices


def _read_script_file(path: str) -> str:
    p = Path(path)
    if not p.is_file():
        raise UserError(f"script file not found: {p}")
    try:
        return p.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise UserError(f"{p} is not UTF-8 text; save the script as plain UTF-8 text") from None


class ProgressLine:
    """Progress on standard error: one line rewritten in place on a terminal, else a line per
    finished generation."""

    def __init__(self, name: str, stream=None) -> None:
        self.name = name
        self.stream = stream or sys.stderr
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self._last = 0.0
        self._generation = -1

    def __call__(self, p) -> None:
        from app.dialogue.progress import bar

        if self.tty:
            now = time.monotonic()
            if now - self._last < 0.2 and p.words_done < p.words_total:
                return
            self._last = now
            print(f"\r{self.name}: {bar(p)}", end="", file=self.stream, flush=True)
        elif p.generation != self._generation and (p.replaying or p.words_done and p.generation):
            self._generation = p.generation
            print(f"{self.name}: {bar(p)}", file=self.stream, flush=True)

    def done(self) -> None:
        if self.tty:
            print(file=self.stream)


def run_dialogue(args: argparse.Namespace) -> int:
    """`say --script` / `say --batch`."""
    from app.commands.common import generation_options

    if args.script:
        raise UserError("give the script either as text or with --script/--batch, not both")
    if args.voice or args.voice_words:
        raise UserError("with --script or --batch, give the voices with --voice-s1 / --voice-s2")
    if getattr(args, "max_frames", None) is not None:
        raise UserError("--max-frames cuts one generation short; --script and --batch render "
                        "the whole script (leave --max-frames out)")
    if args.script_file and args.batch:
        raise UserError("--script renders one file, --batch a folder: use one of them")
    if not args.out:
        raise UserError("--batch needs --out DIR" if args.batch else "--script needs -o FILE.wav")
    voices = _voices(args)
    options = generation_options(args)
    if args.batch:
        return _batch(args, voices, options)
    from app.dialogue.episode import EpisodeRequest, prepare

    request = EpisodeRequest(_read_script_file(args.script_file), Path(args.script_file).name,
                             Path(args.out), voices, options, resume=args.resume)
    from app.dialogue.outputs import EpisodePaths

    if args.resume and EpisodePaths.for_output(args.out).finished():
        print(f"{args.out} is finished already; nothing to resume", file=sys.stderr)
        return 0
    prepared = prepare(request)  # before the models load: mistakes are reported at once
    engine = _load(args)
    result = _render(args, prepared, engine)
    return _report(args, [result])


def _load(args):
    from app.assets.tts_loader import load_tts
    from app.commands.common import tts_choice

    return load_tts(tts_choice(args))


def _render(args, prepared, engine):
    from app.dialogue.episode import make_transcriber, render_episode

    line = ProgressLine(prepared.request.source)
    playback = None
    if args.play:
        from app.audio.playback import Playback, PlaybackConfig

        playback = Playback(PlaybackConfig(device=args.output)).start()
    t0 = time.perf_counter()
    try:
        result = render_episode(prepared, engine, transcribe=make_transcriber(args.demo),
                                on_progress=line,
                                on_audio=playback.write if playback is not None else None)
        if playback is not None:
            playback.end()
            playback.wait()
    except KeyboardInterrupt:
        line.done()
        print(f"stopped: the finished generations are kept in {prepared.paths.work}; run the same "
              "command with --resume to continue", file=sys.stderr)
        raise
    finally:
        if playback is not None:
            playback.stop()
    line.done()
    wall = time.perf_counter() - t0
    if not args.json:
        print(f"wrote {result.paths.mix} ({result.seconds:.1f} s in {result.generations} "
              f"generations, {wall:.0f} s), its tracks, transcript and subtitles", file=sys.stderr)
    return result


def _batch(args, voices, options) -> int:
    from app.dialogue.episode import EpisodeRequest, prepare
    from app.dialogue.outputs import EpisodePaths

    folder, out = Path(args.batch), Path(args.out)
    if not folder.is_dir():
        raise UserError(f"{folder} is not a folder of scripts")
    scripts = sorted(p for p in folder.iterdir() if p.suffix == ".txt" and p.is_file())
    if not scripts:
        raise UserError(f"{folder} holds no .txt scripts")
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out} is a file; give a folder for the batch's outputs")
    todo, failed, results = [], [], []
    for script in scripts:
        target = out / f"{script.stem}.wav"
        if EpisodePaths.for_output(target).finished():
            print(f"{script.name}: finished already, skipped", file=sys.stderr)
            continue
        try:
            request = EpisodeRequest(_read_script_file(str(script)), script.name, target, voices,
                                     options, resume=True)
            todo.append(prepare(request))
        except UserError as exc:
            failed.append(script.name)
            print(f"{script.name}: error: {exc}", file=sys.stderr)
    engine = _load(args) if todo else None
    for prepared in todo:
        try:
            results.append(_render(args, prepared, engine))
        except UserError as exc:
            if "no space left" in str(exc):
                raise  # the next scripts would fail the same way
            failed.append(prepared.request.source)
            print(f"{prepared.request.source}: error: {exc}", file=sys.stderr)
    _report(args, results)
    if failed:
        raise UserError(f"{len(failed)} of {len(scripts)} scripts failed: {', '.join(failed)}")
    return 0


def _report(args, results) -> int:
    if args.json:
        print(json.dumps([{
            "output": str(r.paths.mix),
            "tracks": [str(p) for p in r.paths.tracks.values()],
            "transcript": str(r.paths.transcript),
            "seconds": r.seconds,
            "seed": r.seed,
            "generations": r.generations,
            "rendered": {"generations": r.stats.generations, "frames": r.stats.frames,
                         "seconds": round(r.stats.seconds, 3), "replayed": r.stats.replayed},
        } for r in results], indent=1))
    return 0
