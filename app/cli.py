"""The command line: parses arguments and hands over to the subcommand modules.

Exit codes: 0 success, 1 failed while working, 2 a user error (bad input, missing model, no device),
130 interrupted (Ctrl+C), 143 terminated (SIGTERM). An interruption or SIGTERM unwinds like an
exception, so what a command was writing (a session's recording) is finished first.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import signal
import sys
import threading

from app import __version__
from app.core import APP_TITLE
from app.errors import UserError

log = logging.getLogger(__name__)

COMMAND_MODULES = (  # each defines register(subparsers); see app/commands/__init__.py
    "app.commands.say",
    "app.commands.audio",
    "app.commands.bench",
    "app.commands.download",
    "app.commands.chat",
    "app.commands.doctor",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="main.py",
        description="Talk with a local character that speaks with Nari Labs' Dia2. Without a "
        "command, opens the window.",
    )
    parser.add_argument("--version", action="version", version=f"{APP_TITLE} {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log more detail")
    parser.add_argument("--demo", dest="window_demo", action="store_true",
                        help="window: use tiny locally built models (no download, no GPU needed)")
    parser.add_argument("--character", dest="window_character", metavar="NAME",
                        help="window: start with this character")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:  # a command module not written yet
            if exc.name != name:
                raise
            continue
        module.register(sub)
    return parser


class Terminated(BaseException):  # noqa: N818 - named after the signal, like KeyboardInterrupt
    """SIGTERM arrived: unwind (finishing recordings on the way) and exit with 143."""


def _raise_terminated(signum, frame) -> None:
    raise Terminated()


def main(argv: list[str] | None = None) -> int:
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _raise_terminated)
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        if args.command is None:
            from app.ui.app import run_window

            return run_window(demo=args.window_demo, character=args.window_character)
        return int(args.func(args) or 0)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Terminated:
        print("terminated", file=sys.stderr)
        return 143
