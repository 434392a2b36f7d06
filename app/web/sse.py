"""Server-sent events framing."""

from __future__ import annotations


def sse_event(event: str, data: str) -> str:
    """One SSE message; each line of `data` gets its own `data:` field."""
    lines = data.split("\n") or [""]
    return f"event: {event}\n" + "".join(f"data: {line}\n" for line in lines) + "\n"
