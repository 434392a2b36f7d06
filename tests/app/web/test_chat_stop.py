"""Stop generation: when the browser closes the event stream, the server stops the model.

The TestClient reads a streamed response only after the app has finished it, so these tests
speak ASGI to the app directly: they read the stream until some tokens came, then the client
goes away (an `http.disconnect`, or — newer servers — a send that fails).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.services import Services
from app.settings import Settings
from app.web import create_app
from app.web.auth import SESSION_COOKIE
from ingest.access import Access
from tests.app.chatting import HTMX, key_of
from tests.app.sample import ingest_remote_work
from tests.app.signin import add_user, sign_in
from tests.fakes import FakeGenerator

WORDS = 400
LONG_REPLY = " ".join(f"word{i}" for i in range(WORDS)) + " [1]."
TOKENS_READ = 3


@pytest.fixture
def signed_in(
    settings: Settings, services: Services, tmp_path: Path
) -> Iterator[tuple[FastAPI, TestClient]]:
    ingest_remote_work(services, tmp_path)
    add_user(services.accounts, "alice")
    app = create_app(settings, services)
    with TestClient(app) as client:
        sign_in(client, "alice")
        yield app, client


async def read_then_leave(app: FastAPI, query: str, cookie: str, spec_version: str) -> str:
    """GET /ask/stream?{query}; after TOKENS_READ tokens the client goes away."""
    gone = anyio.Event()
    received: list[str] = []

    async def receive() -> dict[str, Any]:
        await gone.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        if gone.is_set() and spec_version >= "2.4":
            raise OSError("the client closed the connection")
        if message["type"] == "http.response.body":
            received.append(message.get("body", b"").decode())
            if "".join(received).count("event: token") >= TOKENS_READ:
                gone.set()

    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": spec_version},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/ask/stream",
        "raw_path": b"/ask/stream",
        "query_string": query.encode(),
        "root_path": "",
        "headers": [
            (b"host", b"testserver"),
            (b"accept", b"text/event-stream"),
            (b"cookie", f"{SESSION_COOKIE}={cookie}".encode()),
        ],
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


@pytest.mark.parametrize("spec_version", ["2.3", "2.4"])
def test_closing_the_stream_stops_generation(
    signed_in: tuple[FastAPI, TestClient],
    generator: FakeGenerator,
    services: Services,
    spec_version: str,
) -> None:
    app, client = signed_in
    generator.enqueue(LONG_REPLY)
    fragment = client.post("/ask", data={"question": "Remote days?"}, headers=HTMX).text
    assert "data-stop" in fragment  # the Stop button closes the EventSource (static/chat.js)
    cookie = client.cookies.get(SESSION_COOKIE)
    assert cookie
    query = f"key={key_of(fragment)}"
    body = client.portal.call(read_then_leave, app, query, cookie, spec_version)  # type: ignore[union-attr]
    assert body.count("event: token") >= TOKENS_READ
    assert "event: done" not in body
    assert generator.finished == [False]  # closed before its last word…
    assert generator.yielded[0] < WORDS / 4  # …soon after the client went
    assert generator.running == 0
    (conversation,) = services.conversations.list_for(1)
    shown = services.stored_access(Access.admin())
    assert (
        services.conversations.messages(1, conversation.id, shown) == []
    )  # a stopped answer is not kept
