"""A client that goes away mid-stream, spoken to the app in ASGI.

The TestClient reads a streamed response only after the app has finished it, so tests of what
happens when a client leaves call the app directly: they read the response until `enough` says
so, then the client goes away (an `http.disconnect`, or, from ASGI spec 2.4 on, a send that
fails)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import anyio
from fastapi import FastAPI


async def read_then_leave(
    app: FastAPI,
    method: str,
    path: str,
    *,
    enough: Callable[[str], bool],
    spec_version: str,
    headers: Sequence[tuple[str, str]] = (),
    query: str = "",
    body: bytes = b"",
) -> str:
    """What the client read before it left (once `enough(read so far)` was true)."""
    gone = anyio.Event()
    body_sent = not body
    received: list[str] = []

    async def receive() -> dict[str, Any]:
        nonlocal body_sent
        if not body_sent:
            body_sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await gone.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        if gone.is_set() and spec_version >= "2.4":
            raise OSError("the client closed the connection")
        if message["type"] == "http.response.body":
            received.append(message.get("body", b"").decode())
            if enough("".join(received)):
                gone.set()

    sent = [("host", "testserver"), *headers]
    if body:
        sent.append(("content-length", str(len(body))))
    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": spec_version},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": [(k.encode(), v.encode()) for k, v in sent],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
        "state": {},
    }
    try:
        await app(scope, receive, send)
    except Exception as exc:  # the 2.4 path ends in ClientDisconnect
        if "Disconnect" not in type(exc).__name__:
            raise
    return "".join(received)
