"""Server-sent events, as far as OpenAI-style streaming needs them.

`iter_sse_data` reads an event stream line by line and yields the data of each event: `data:`
lines joined by newlines, dispatched at the blank line that ends an event (or at the end of the
stream). Comments (`: keep-alive`) and other fields (`event:`, `id:`, `retry:`) are skipped.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator


class SSEFormatError(ValueError):
    """The stream is not valid server-sent events (e.g. not UTF-8)."""


def iter_sse_data(readline: Callable[[], bytes]) -> Iterator[str]:
    """Yield each event's data from `readline` (returns one line with its ending, b"" at EOF)."""
    data: list[str] = []
    while True:
        raw = readline()
        if not raw:
            break
        try:
            line = raw.decode("utf-8").rstrip("\r\n")
        except UnicodeDecodeError as exc:
            raise SSEFormatError(f"stream line is not UTF-8: {raw[:80]!r}") from exc
        if not line:
            if data:
                yield "\n".join(data)
                data = []
            continue
        if line.startswith(":"):
            continue
        field, _, value = line.partition(":")
        if field == "data":
            data.append(value[1:] if value.startswith(" ") else value)
    if data:
        yield "\n".join(data)
