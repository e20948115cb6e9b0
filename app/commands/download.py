"""`main.py download`: fetch the models a setup needs, with progress, so the machine can go offline."""

from __future__ import annotations

import argparse
import sys

from app.assets.choice import DEFAULT_MODEL


def register(sub) -> None:
    p = sub.add_parser(
        "download",
        help="download models now (resumable), so later runs work offline",
        description="Download what the app needs into the standard Hugging Face cache "
        "(HF_HUB_CACHE), with progress bars, so the machine can then go offline: by default the "
        "whole setup (the Dia2 model that fits this machine: Dia2-2B on a GPU with room for it, "
        "Dia2-1B otherwise; the Mimi codec, the speech recogniser for this machine and the local "
        "reply model). An interrupted download resumes.",
    )
    p.add_argument("--model", action="append", default=None,
                   help="only this repository (repeatable) plus the Mimi codec: a Dia2 checkpoint, "
                   "or any other model such as Systran/faster-whisper-small")
    p.add_argument("--all", action="store_true", help="the whole setup with both Dia2-1B and Dia2-2B")
    p.add_argument("--asr", help="the recogniser's size name or repo (default: base.en on a CPU, "
                   "large-v3-turbo with a GPU)")
    p.add_argument("--no-llm", action="store_true",
                   help="leave out the local reply model (when replies come from a server)")
    p.add_argument("--list", action="store_true", help="only list what is cached, with sizes")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from app.assets import hub

    if args.list:
        models = hub.cached_models()
        if not models:
            print(f"no models in the cache ({hub.cache_root()}); `main.py download` fetches the "
                  "whole setup", file=sys.stderr)
        for m in models:
            state = "complete" if m.complete else "partial"
            print(f"{m.repo_id:40s} {m.size_bytes / 2**30:7.2f} GiB  {state}  {m.path}")
        return 0
    if args.model:
        repos = [*args.model, hub.MIMI_REPO]
    else:
        from app.assets.setup import setup_repos

        dia2 = list(hub.DIA2_REPOS) if args.all else [DEFAULT_MODEL]
        repos = setup_repos(dia2, asr=args.asr, llm="" if args.no_llm else None)
    print("fetching: " + ", ".join(dict.fromkeys(repos)), file=sys.stderr)
    paths = hub.download(list(dict.fromkeys(repos)), progress=True)
    for repo, path in paths.items():
        print(f"{repo}: {path}", file=sys.stderr)
    return 0
