"""Subcommands of `main.py`. Each module defines `register(subparsers)`, which adds its parsers
and sets `func` on them to a callable taking the parsed arguments and returning an exit code."""

COMMAND_MODULES = (
    "app.commands.say",
    "app.commands.audio",
    "app.commands.bench",
    "app.commands.download",
    "app.commands.chat",
    "app.commands.doctor",
)
