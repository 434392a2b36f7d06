"""Stop generation: when the browser closes the event stream, the server stops the model
(the client leaving is `tests.app.leaving.read_then_leave`)."""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.services import Services
from app.settings import Settings
from app.web import create_app
from app.web.auth import SESSION_COOKIE
from ingest.access import Access
from tests.app.chatting import HTMX, key_of
from tests.app.leaving import read_then_leave
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
    assert client.portal is not None
    body = client.portal.call(
        partial(
            read_then_leave,
            app,
            "GET",
            "/ask/stream",
            query=query,
            headers=[("accept", "text/event-stream"), ("cookie", f"{SESSION_COOKIE}={cookie}")],
            spec_version=spec_version,
            enough=lambda read: read.count("event: token") >= TOKENS_READ,
        )
    )
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
