"""Entry point: `uv run main.py [command] ...` (see app/cli.py)."""

import sys

from app.cli import main

if __name__ == "__main__":
    sys.exit(main())
