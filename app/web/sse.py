"""Server-sent events framing."""

from __future__ import annotations

import re

# What a browser's EventSource takes for the end of a line: CRLF, a lone CR or a lone LF.
_LINE_END = re.compile(r"\r\n|\r|\n")


def sse_event(event: str, data: str) -> str:
    """One SSE message; each line of `data` gets its own `data:` field.

    Every kind of line end is a line break here, as it is in the browser, so text from the
    model or a passage (a lone `\\r`) cannot end the `data:` field early and forge an event or
    field of its own; the browser hands the data back with `\\n` between its lines."""
    if _LINE_END.search(event):
        raise ValueError(f"an SSE event name cannot hold a line end: {event!r}")
    lines = _LINE_END.split(data)
    return f"event: {event}\n" + "".join(f"data: {line}\n" for line in lines) + "\n"
