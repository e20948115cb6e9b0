"""Argument groups shared by several commands (model choice, generation options)."""

from __future__ import annotations

import argparse
from pathlib import Path

from app.assets.choice import DEFAULT_MODEL, TtsChoice
from app.errors import UserError
from app.tts.options import GenerationOptions


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

    from app.assets.setup import choose_dia2
    from app.diagnostics.notes import start_notes

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
    """The options the command line asked for (`UserError` for values out of range)."""
    text_t = args.temperature if args.temperature is not None else args.text_temperature
    audio_t = args.temperature if args.temperature is not None else args.audio_temperature
    return GenerationOptions(text_temperature=text_t, audio_temperature=audio_t,
                             text_top_k=args.top_k, audio_top_k=args.top_k,
                             cfg_scale=args.cfg, seed=args.seed, **extra)


SCRIPT_SUFFIXES = (".txt", ".md", ".text")  # a script argument ending so names a file


def read_script(text: str) -> str:
    """The script: literal text, a path to a text file, or '-' for standard input.

    An argument that looks like a file name (one word ending in .txt/.md/.text, or a path with a
    folder and no speaker tag) must be a readable UTF-8 file, so a mistyped name is an error
    rather than words to speak. An empty script is an error."""
    import sys

    if text == "-":
        script = sys.stdin.read()
    elif _names_a_file(text):
        path = Path(text).expanduser()
        if not path.is_file():
            raise UserError(f"script file not found: {path} (to speak text, put it in quotes and "
                            "start it with [S1])")
        try:
            script = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise UserError(f"{path} is not UTF-8 text ({exc.reason} at byte {exc.start}); save "
                            "it as UTF-8") from None
        except OSError as exc:
            raise UserError(f"cannot read {path} ({exc.strerror or exc})") from None
    else:
        script = text
    if not script.strip():
        raise UserError("the script is empty; give text such as \"[S1] Hello there!\"")
    return script


def _names_a_file(text: str) -> bool:
    if len(text) > 4096 or "\n" in text or "[S" in text:
        return False
    p = Path(text)
    if p.is_file():
        return True
    one_word = not any(c.isspace() for c in text.strip())
    return one_word and (p.suffix.lower() in SCRIPT_SUFFIXES or len(p.parts) > 1)


def check_output_file(path: str | Path) -> Path:
    """Check, before any work, that an audio file can be written at `path`: a known audio type,
    not a folder, in a folder that exists (or can be made) and can be written."""
    import os
    import tempfile

    import soundfile as sf

    target = Path(path).expanduser()
    if target.is_dir() or str(path).endswith(("/", os.sep)):
        raise UserError(f"{path} is a folder; give a file name such as {Path(path) / 'out.wav'}")
    fmt = target.suffix.lstrip(".").upper()
    if fmt not in sf.available_formats():
        raise UserError(f"{target}: unknown audio file type {target.suffix or '(none)'!r}; "
                        "use .wav or .flac")
    folder = target.parent
    while not folder.exists():
        folder = folder.parent
    if not folder.is_dir():
        raise UserError(f"cannot write {target}: {folder} is a file, not a folder")
    try:
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        raise UserError(f"cannot write {target} ({exc.strerror or exc}); choose another -o "
                        "path") from None
    return target
