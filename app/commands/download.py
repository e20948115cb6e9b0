"""`main.py download`: fetch the models a setup needs, with progress, so the machine can go offline."""

from __future__ import annotations

import argparse
import sys

from app.models.tts_loader import DEFAULT_MODEL


def register(sub) -> None:
    p = sub.add_parser(
        "download",
        help="download models now (resumable), so later runs work offline",
        description="Download the Dia2 checkpoint and the Mimi codec into the standard Hugging Face "
        "cache (HF_HUB_CACHE), with progress bars. An interrupted download resumes.",
    )
    p.add_argument("--model", action="append", default=None,
                   help=f"a Dia2 repo id to fetch (repeatable; default {DEFAULT_MODEL})")
    p.add_argument("--all", action="store_true", help="both Dia2-1B and Dia2-2B")
    p.add_argument("--list", action="store_true", help="only list what is cached, with sizes")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from app.models import hub

    if args.list:
        for m in hub.cached_models():
            state = "complete" if m.complete else "partial"
            print(f"{m.repo_id:40s} {m.size_bytes / 2**30:7.2f} GiB  {state}  {m.path}")
        return 0
    repos = list(hub.DIA2_REPOS) if args.all else (args.model or [DEFAULT_MODEL])
    paths = hub.download([*repos, hub.MIMI_REPO], progress=True)
    for repo, path in paths.items():
        print(f"{repo}: {path}", file=sys.stderr)
    return 0
