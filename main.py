"""Entry point: `uv run main.py [command] ...` (see app/cli.py)."""

import multiprocessing
import sys

from app.cli import main

if __name__ == "__main__":
    multiprocessing.freeze_support()  # the model download runs in a child process (frozen apps)
    sys.exit(main())
