"""Argument groups shared by several commands (model choice, generation options)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from app.errors import UserError
from app.models.tts_loader import DEFAULT_MODEL, TtsChoice
from app.tts.options import GenerationOptions
from app.tts.prefix import Word


def add_model_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("model")
    g.add_argument("--model", default=DEFAULT_MODEL,
                   help="Dia2 checkpoint: a Hugging Face repo id, a local folder, or auto (the "
                   "default: nari-labs/Dia2-2B on a GPU with room for it, nari-labs/Dia2-1B on a "
                   "smaller GPU or the CPU)")
    g.add_argument("--mimi", default=None,
                   help="Mimi codec weights: file, folder or repo id (default: kyutai/moshiko-pytorch-bf16)")
    g.add_argument("--demo", action="store_true",
                   help="use tiny random models built locally (no download; speaks noise)")
    g.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N (default auto)")
    g.add_argument("--precision", "--dtype", dest="precision", default="auto",
                   choices=("auto", "float32", "reference", "fast", "bfloat16"),
                   help="Dia2's numbers: reference (the published runtime's bfloat16 mode: "
                        "float32 weights, bfloat16 activations), fast (bfloat16 weights: half the "
                        "memory, may differ from the reference more often) or float32; auto: "
                        "reference on CUDA, float32 on the CPU")
    g.add_argument("--no-cuda-graphs", action="store_true", help="run each frame eagerly on CUDA")


def tts_choice(args: argparse.Namespace) -> TtsChoice:
    return TtsChoice(model=args.model, mimi=args.mimi, demo=args.demo, device=args.device,
                     precision=args.precision, cuda_graphs=not args.no_cuda_graphs)


def print_device_notes(args: argparse.Namespace, engine) -> None:
    """Say on standard error what the person should know about where Dia2 runs (a GPU that
    torch cannot use; the CPU's speed), as the window's banner does."""
    import sys

    from app.diagnostics.notes import start_notes
    from app.models.setup import choose_dia2

    model = "" if args.demo else choose_dia2(args.model, "cpu").model
    params = sum(p.numel() for p in engine.model.parameters())
    for note in start_notes(str(engine.device), params, model, asked_device=args.device):
        print(f"note: {note}", file=sys.stderr)


def print_recognition_notice(recognizer) -> None:
    """Say on standard error, once, that recognition moved from the GPU to the CPU."""
    import sys

    notice = recognizer.take_notice()
    if notice:
        print(f"note: {notice}", file=sys.stderr)


def add_generation_args(p: argparse.ArgumentParser) -> None:
    d = GenerationOptions()
    g = p.add_argument_group("generation")
    g.add_argument("--seed", type=int, default=None, help="make the run repeatable")
    g.add_argument("--cfg", type=float, default=d.cfg_scale,
                   help=f"classifier-free guidance scale; 1 turns it off (default {d.cfg_scale})")
    g.add_argument("--temperature", type=float, default=None,
                   help="temperature of both text and audio sampling (0 = greedy)")
    g.add_argument("--text-temperature", type=float, default=d.text_temperature,
                   help=f"default {d.text_temperature}")
    g.add_argument("--audio-temperature", type=float, default=d.audio_temperature,
                   help=f"default {d.audio_temperature}")
    g.add_argument("--top-k", type=int, default=d.audio_top_k, help=f"default {d.audio_top_k}")


def generation_options(args: argparse.Namespace, **extra) -> GenerationOptions:
    text_t = args.temperature if args.temperature is not None else args.text_temperature
    audio_t = args.temperature if args.temperature is not None else args.audio_temperature
    return GenerationOptions(text_temperature=text_t, audio_temperature=audio_t,
                             text_top_k=args.top_k, audio_top_k=args.top_k,
                             cfg_scale=args.cfg, seed=args.seed, **extra)


def read_words(path: str | Path) -> tuple[Word, ...]:
    """Word times from JSON: a list of {"word"|"text", "start", "end"} or [text, start, end]."""
    path = Path(path)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"word file not found: {path}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise UserError(f"{path} is not valid JSON ({exc})") from None
    if isinstance(raw, dict):
        raw = raw.get("words", raw)
    words = []
    try:
        for item in raw:
            if isinstance(item, dict):
                text = item.get("word", item.get("text"))
                words.append(Word(str(text).strip(), float(item["start"]), float(item["end"])))
            else:
                text, start, end = item
                words.append(Word(str(text).strip(), float(start), float(end)))
    except (KeyError, TypeError, ValueError):
        raise UserError(
            f"{path}: expected a list of words like "
            '[{"word": "Hello", "start": 0.1, "end": 0.4}, ...]'
        ) from None
    words = [w for w in words if w.text]
    if not words:
        raise UserError(f"{path} holds no words")
    for w in words:
        if w.end < w.start or w.start < 0:
            raise UserError(f"{path}: word {w.text!r} has start {w.start} after end {w.end}")
    return tuple(words)


def read_script(text: str) -> str:
    """The script: literal text, a path to a text file, or '-' for standard input."""
    import sys

    if text == "-":
        return sys.stdin.read()
    path = Path(text)
    if len(text) < 4096 and path.suffix in (".txt", ".md") and path.is_file():
        return path.read_text(encoding="utf-8")
    return text
