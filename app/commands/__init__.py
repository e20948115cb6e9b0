"""Subcommands of `main.py`. Each module defines `register(subparsers)`, which adds its parsers
and sets `func` on them to a callable taking the parsed arguments and returning an exit code.
Registering must stay light (no torch, no models): `main.py --help` builds every parser. The
list of command modules is `app.cli.COMMAND_MODULES`.

    common.py      argument groups shared by several commands (model choice, generation)
    say.py, say_script.py   `say`: a script spoken to a file or the speakers; long scripts
    audio.py       `devices`, `listen`, `transcribe`, `play`
    chat.py        `chat`: the terminal chat, live or headless
    download.py    `download`
    doctor.py      `doctor`
    bench.py       `bench`
"""
