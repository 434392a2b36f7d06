"""Request bodies have a limit by class (anonymous, signed in, uploads), applied before the route
reads them: from Content-Length before a byte is read, and while a body without one streams in.
Driven at the ASGI level, so the test counts what the app actually pulled from the client."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from app.services import Services
from app.settings import Settings
from app.web import create_app
from app.web.upload_form import upload_size_guard
from tests.app.signin import add_user, sign_in
from tests.app.web.test_auth_routes import all_routes

CHUNK = 64 << 10
BIG = 8 << 20  # 8 MB: the old app read all of it before answering 401


@dataclass
class Sent:
    status: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    read: int = 0  # body bytes the app pulled from the client


def call(
    client: TestClient,
    path: str,
    total: int,
    *,
    declare: bool,
    headers: dict[str, str] | None = None,
    first: bytes = b"",
) -> Sent:
    """POST `total` bytes (`first`, then spaces) in 64 KB messages, with or without a
    Content-Length, straight into the ASGI app; count what it reads."""
    sent = Sent()
    remaining = total
    pending = first

    async def receive() -> dict[str, object]:
        nonlocal remaining, pending
        if remaining <= 0:
            return {"type": "http.disconnect"}
        size = min(CHUNK, remaining)
        piece, pending = (pending + b" " * size)[:size], pending[size:]
        remaining -= size
        sent.read += size
        return {"type": "http.request", "body": piece, "more_body": remaining > 0}

    async def send(message: dict[str, object]) -> None:
        if message["type"] == "http.response.start":
            sent.status = int(message["status"])  # type: ignore[call-overload]
            raw = message.get("headers") or []
            sent.headers = {k.decode(): v.decode() for k, v in raw}  # type: ignore[union-attr]
        elif message["type"] == "http.response.body":
            sent.body += message.get("body", b"")  # type: ignore[operator]

    given = {"host": "testserver", "content-type": "application/json"}
    given |= {k.lower(): v for k, v in client.headers.items()}
    given |= {k.lower(): v for k, v in (headers or {}).items()}
    if declare:
        given["content-length"] = str(total)
    else:
        given.pop("content-length", None)
        given["transfer-encoding"] = "chunked"
    cookie = "; ".join(f"{k}={v}" for k, v in client.cookies.items())
    if cookie:
        given["cookie"] = cookie
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(k.encode(), v.encode()) for k, v in given.items()],
        "client": ("10.0.0.9", 50000),
        "server": ("testserver", 80),
        "state": {},
    }
    assert client.portal is not None
    client.portal.call(client.app, scope, receive, send)
    return sent


@pytest.fixture
def anonymous(settings: Settings, services: Services) -> Iterator[TestClient]:
    with TestClient(create_app(settings, services)) as client:
        yield client


@pytest.fixture
def member(settings: Settings, services: Services) -> Iterator[TestClient]:
    add_user(services.accounts, "alice")
    with TestClient(create_app(settings, services)) as client:
        sign_in(client, "alice")
        yield client


@pytest.mark.parametrize("path", ["/api/v1/ask", "/v1/chat/completions", "/ask", "/login"])
@pytest.mark.parametrize("declare", [True, False], ids=["content-length", "chunked"])
def test_an_anonymous_large_body_is_refused_unread(
    anonymous: TestClient, path: str, declare: bool
) -> None:
    form = {"content-type": "application/x-www-form-urlencoded"}
    sent = call(anonymous, path, BIG, declare=declare, headers=form if "v1" not in path else None)
    assert sent.status == 413, (sent.status, sent.body[:200])
    assert sent.read <= (16 << 10) + CHUNK  # the anonymous limit, give or take one message
    if declare:
        assert sent.read == 0  # refused from the header alone
    assert "sign in first" in json.loads(sent.body)["detail"]


@pytest.mark.parametrize("declare", [True, False], ids=["content-length", "chunked"])
def test_a_signed_in_body_past_the_limit_is_refused_unread(
    member: TestClient, declare: bool
) -> None:
    sent = call(member, "/api/v1/ask", BIG, declare=declare)
    assert sent.status == 413, (sent.status, sent.body[:200])
    assert sent.read <= (1 << 20) + CHUNK
    assert "DOCENT_MAX_BODY_KB" in json.loads(sent.body)["detail"]


def test_a_signed_in_body_under_the_limit_passes(member: TestClient) -> None:
    question = json.dumps({"question": "How many days?", "filters": {"tags": ["x" * 100]}})
    padding = 100 << 10  # over the anonymous limit, under the signed-in one
    body = question.encode()
    sent = call(member, "/api/v1/ask", len(body) + padding, declare=True, first=body)
    assert sent.status != 413, sent.body[:300]  # JSON with trailing spaces is still JSON


def test_a_page_gets_the_refusal_as_a_page(anonymous: TestClient) -> None:
    sent = call(
        anonymous,
        "/login",
        BIG,
        declare=True,
        headers={"accept": "text/html", "content-type": "application/x-www-form-urlencoded"},
    )
    assert sent.status == 413
    assert sent.headers["content-type"].startswith("text/html")
    assert b"Too large" in sent.body


def test_the_limits_are_settings(settings: Settings, services: Services) -> None:
    small = settings.model_copy(update={"max_anonymous_body_kb": 1})
    with TestClient(create_app(small, services)) as client:
        assert call(client, "/login", 2 << 10, declare=True).status == 413
        assert client.post("/login", data={"username": "x"}).status_code != 413


def test_the_upload_routes_are_the_ones_with_the_upload_guard(
    settings: Settings, services: Services
) -> None:
    from app.web.body_limit import UPLOAD_ROUTES

    app = create_app(settings, services)
    guarded = {
        (method, route.path)
        for route in all_routes(app)
        if isinstance(getattr(route, "original_route", route), APIRoute)
        and any(d.call is upload_size_guard for d in route.dependant.dependencies)
        for method in route.methods
    }
    assert guarded == UPLOAD_ROUTES
