"""`main.py chat` (talk with a character, live or from files) and `main.py export` (re-render a
recorded session)."""

from __future__ import annotations

import argparse
import json
import math
import sys
import threading
from pathlib import Path

from app.commands.common import add_model_args
from app.errors import UserError


def register(sub) -> None:
    p = sub.add_parser(
        "chat",
        help="talk with a character (voice chat in the terminal, or --headless from files)",
        description="Voice chat with a character: speak, hear the answer in its voice, interrupt it "
        "by speaking. --headless runs the same turns from audio files with no sound device. "
        "Every session is recorded (person, character, mix, transcript.json, subtitles).",
    )
    p.add_argument("--character", default="ava", help="name or TOML file of the character (default ava)")
    p.add_argument("--list-characters", action="store_true", help="list the known characters and exit")
    p.add_argument("--headless", action="store_true", help="no sound devices: turns from --user-audio")
    p.add_argument("--user-audio", nargs="+", default=[], metavar="FILE",
                   help="headless: the person's turns, one audio file each, in order")
    p.add_argument("--out", help="the session folder (default: a new one in the user data folder); "
                   "one that already holds a session is refused unless --force")
    p.add_argument("--force", action="store_true",
                   help="record over the session already in --out (it is lost)")
    p.add_argument("--json", action="store_true", help="print events (words, timings, errors) as JSON lines")
    p.add_argument("--no-greeting", action="store_true", help="do not say the character's greeting")
    p.add_argument("--brain", default="character",
                   choices=["character", "demo", "script", "openai", "transformers", "typed"],
                   help="where replies come from (default: the character's own; with --demo the demo LLM)")
    p.add_argument("--script", type=Path, help="dialogue script for --brain script ([S1]/[S2] lines)")
    p.add_argument("--llm-url", help="OpenAI-compatible server, e.g. http://127.0.0.1:11434/v1")
    p.add_argument("--llm-model", help="model name for --brain openai / transformers")
    p.add_argument("--asr-model", help="Whisper model: size name or folder (default: by device)")
    p.add_argument("--max-frames", type=int, help="cap each reply at this many frames (80 ms each)")
    p.add_argument("--gap", type=float, default=0.4, help="headless: pause between turns, seconds")
    p.add_argument("--headphones", action="store_true",
                   help="live: no echo gate, any speech interrupts (use with headphones)")
    p.add_argument("--echo-canceller", choices=["aec3", "spectral"], default="aec3",
                   help="live: how the speakers' echo is kept out of the microphone: WebRTC's "
                   "canceller (aec3, default) or only the spectral echo gate (spectral)")
    p.add_argument("--no-noise-suppression", dest="noise_suppression", action="store_false",
                   help="live: leave steady background noise in the microphone (suppressed by "
                   "default with the aec3 canceller)")
    p.add_argument("--input", help="live: microphone (name or index)")
    p.add_argument("--output", help="live: speaker (name or index)")
    add_model_args(p)
    p.set_defaults(func=run_chat)

    e = sub.add_parser("export", help="re-render a recorded session (mix, subtitles, repaired WAVs)")
    e.add_argument("folder", help="the session folder")
    e.add_argument("--to", help="write the result here instead of in place")
    e.set_defaults(func=run_export)


def _printer(as_json: bool, character_name: str):
    from app.conversation.events import (
        Error,
        Interrupted,
        PersonWords,
        StateChanged,
        TurnAdded,
        TurnTimings,
        event_dict,
    )

    lock = threading.Lock()

    def show(event) -> None:
        with lock:
            if as_json:
                d = event_dict(event)
                if d is not None:
                    print(json.dumps(d, ensure_ascii=False), flush=True)
                return
            if isinstance(event, PersonWords):
                print(f"you: {event.text or '(nothing recognised)'}", file=sys.stderr)
            elif isinstance(event, TurnAdded) and event.turn.speaker == 1:
                print(f"{character_name}: {event.turn.text}" + (" —" if event.turn.interrupted else ""),
                      file=sys.stderr)
            elif isinstance(event, TurnTimings):
                t = event.as_dict()
                print("  latency: " + ", ".join(f"{k} {v:.2f}s" for k, v in t.items()
                                                if k.endswith("_s") and v is not None), file=sys.stderr)
            elif isinstance(event, Interrupted):
                print(f"  (interrupted after {event.heard_s:.1f} s)", file=sys.stderr)
            elif isinstance(event, Error):
                print(f"  ! {event.message}", file=sys.stderr)
            elif isinstance(event, StateChanged) and event.state.value == "listening":
                print("  listening...", file=sys.stderr)

    return show


def _options(args):
    from app.conversation.options import SessionOptions

    return SessionOptions(demo=args.demo, model=args.model, mimi=args.mimi, device=args.device,
                          precision=args.precision, cuda_graphs=not args.no_cuda_graphs,
                          asr_model=args.asr_model, brain=args.brain, script=args.script,
                          llm_url=args.llm_url, llm_model=args.llm_model)


def run_chat(args: argparse.Namespace) -> int:
    from app.conversation.character import character_files, find_character, load_character

    if args.list_characters:
        for key, path in character_files().items():
            try:
                print(f"{key:16s} {load_character(path).name}  ({path})")
            except UserError as exc:
                print(f"{key:16s} BROKEN: {exc}")
        return 0
    if args.max_frames is not None and args.max_frames <= 0:
        raise UserError("--max-frames must be positive")
    if not math.isfinite(args.gap) or args.gap < 0:
        raise UserError("--gap is the pause between turns in seconds: 0 or more")
    if args.user_audio and not args.headless:
        raise UserError("--user-audio needs --headless")
    if args.force and not args.out:
        raise UserError("--force needs --out (the folder whose session it replaces)")
    character = find_character(args.character)
    if args.headless:
        return _headless(args, character)
    from app.conversation.live import run_live
    from app.conversation.recorder import discard_unused, prepare_folder

    made = bool(args.out) and not Path(args.out).exists()
    if args.out:
        prepare_folder(args.out, replace=args.force)
    try:
        brain = _checked_brain(character, _options(args))
        return run_live(args, character, _options(args), _printer(args.json, character.name),
                        brain=brain)
    finally:
        if made:
            discard_unused(args.out)  # only if the session never began


def _checked_brain(character, opts):
    """The session's brain, checked before any other model loads: a chat server must answer
    and have the model, a local language model must load."""
    from app.brains.local_llm import TransformersBrain
    from app.brains.openai_compat import OpenAICompatibleBrain
    from app.conversation.setup import make_session_brain

    brain = make_session_brain(character, opts)
    try:
        if isinstance(brain, OpenAICompatibleBrain):
            status = brain.check_connection()
            if not status.ok:
                raise UserError(status.message)
        elif isinstance(brain, TransformersBrain):
            brain.load()
    except BaseException:
        brain.close()
        raise
    return brain


def _headless(args, character) -> int:
    from app.conversation.events import Error
    from app.conversation.headless import read_turns, run_headless
    from app.conversation.pipeline import PipelineConfig
    from app.conversation.recorder import discard_unused, prepare_folder
    from app.conversation.session import Session
    from app.conversation.setup import new_session_folder
    from app.conversation.sinks import VirtualSink

    if not args.user_audio and not (character.greeting and not args.no_greeting):
        raise UserError("--headless needs --user-audio FILE... (the person's turns)")
    # every check before any model loads: the turns' audio, the folder, the brain
    turns = read_turns(args.user_audio)
    out = Path(args.out) if args.out else new_session_folder(character)
    made = not out.exists()
    prepare_folder(out, replace=args.force)
    opts = _options(args)
    try:
        brain = _checked_brain(character, opts)
    except BaseException:
        if made:
            discard_unused(out)
        raise
    show = _printer(args.json, character.name)
    errors: list[Error] = []

    def on_event(event) -> None:
        if isinstance(event, Error) and event.where != "device":  # "device": start notes only
            errors.append(event)
        show(event)

    try:
        session = Session.open(character, VirtualSink("instant"), out=out, opts=opts, brain=brain,
                               on_event=on_event, realtime=False, gap_s=args.gap,
                               config=PipelineConfig(max_frames=args.max_frames),
                               replace=args.force)
    except BaseException:
        brain.close()
        if made:
            discard_unused(out)
        raise
    try:
        run_headless(session, turns, greeting="" if args.no_greeting else character.greeting)
    except BaseException as exc:
        session.close()
        if not isinstance(exc, Exception):  # Ctrl+C or SIGTERM (app.cli.Terminated)
            print(f"stopped; what was said so far is recorded in {out}", file=sys.stderr)
        raise
    finally:
        session.close()
    if args.json:
        print(json.dumps({"event": "done", "folder": str(out), "errors": len(errors)}), flush=True)
    if errors:
        print(f"error: {len(errors)} problem(s) during the session, first: {errors[0].message} "
              f"(what worked is recorded in {out})", file=sys.stderr)
        return 1
    if not args.json:
        print(f"recorded {out}", file=sys.stderr)
    return 0


def run_export(args: argparse.Namespace) -> int:
    from app.conversation.export import export_session

    summary = export_session(args.folder, args.to)
    print(f"exported {summary['folder']}: {summary['turns']} turns, {summary['seconds']:.1f} s",
          file=sys.stderr)
    return 0
