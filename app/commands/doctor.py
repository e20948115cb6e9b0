"""`main.py doctor`: check the machine and say what to fix, one line per check."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from app.assets.choice import DEFAULT_MODEL

_MARK = {"ok": "ok  ", "warn": "warn", "fail": "FAIL"}


def register(sub) -> None:
    p = sub.add_parser(
        "doctor",
        help="check Python, libraries, GPU, sound devices and cached models; say what to fix",
        description="Check the machine for the chosen setup and print one line per check "
        "(ok, warn or FAIL) with what to do about it: Python and library versions, PortAudio, "
        "the GPU and its driver (when torch cannot use an NVIDIA GPU: why, and what to do), "
        "where speech recognition runs, every sound device (each is opened briefly), the "
        "memory of the chosen setup part by part, which models are cached and how big they "
        "are, whether the app can run offline, and where it keeps its files. Nothing is "
        "downloaded.",
        epilog="Exit status: 0 when no check failed (warnings allowed), 1 when any check failed, "
        "2 for a usage error.",
    )
    p.add_argument("--model", default=DEFAULT_MODEL,
                   help="the Dia2 checkpoint to check for: repo id, folder, or auto (default: "
                   "the one the app picks, Dia2-2B on a GPU with room for it, else Dia2-1B)")
    p.add_argument("--precision", default="auto", choices=("auto", "reference", "fast", "float32"),
                   help="Dia2's precision on the GPU, for the memory figures (default auto = "
                   "reference: float32 weights, bfloat16 activations; fast: bfloat16 weights)")
    p.add_argument("--no-llm", action="store_true",
                   help="replies come from a server: leave the local reply model out")
    p.add_argument("--demo", action="store_true",
                   help="check for the demo setup (tiny models built locally, nothing to download)")
    p.add_argument("--asr", default="auto",
                   help="recognition model size or repo to check for (default: base.en on the "
                   "CPU, large-v3-turbo on a GPU, as the app picks)")
    p.add_argument("--no-audio", action="store_true",
                   help="do not open the sound devices (e.g. on a server without any)")
    p.add_argument("--cache-dir", type=Path, default=None,
                   help="Hugging Face cache folder (default: HF_HUB_CACHE or ~/.cache/huggingface/hub)")
    p.add_argument("--json", action="store_true",
                   help="print the checks as JSON: {\"ok\": bool, \"checks\": [{name, status, "
                   "detail, fix, data}]}")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from app.diagnostics.checks import DoctorOptions
    from app.diagnostics.doctor import exit_code, run_checks

    options = DoctorOptions(model=args.model, demo=args.demo, asr=args.asr,
                            precision=args.precision, llm="" if args.no_llm else DoctorOptions.llm,
                            audio=not args.no_audio, cache_dir=args.cache_dir)
    checks = run_checks(options)
    code = exit_code(checks)
    if args.json:
        json.dump({"ok": code == 0, "checks": [c.as_dict() for c in checks]}, sys.stdout, indent=1)
        print()
        return code
    width = max(len(c.name) for c in checks)
    for c in checks:
        fix = f"  -> {c.fix}" if c.fix and c.status != "ok" else ""
        print(f"{_MARK[c.status]}  {c.name:{width}}  {c.detail}{fix}")
    fails = sum(c.status == "fail" for c in checks)
    warns = sum(c.status == "warn" for c in checks)
    print(f"\n{fails} failed, {warns} warning(s)" if fails or warns else "\nall checks passed")
    return code
