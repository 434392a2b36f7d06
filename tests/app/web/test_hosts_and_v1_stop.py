"""The Host header is checked (DNS rebinding), and a `/v1` client that goes away mid-stream
hands the model on at once, as the chat page's stream does."""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.services import Services
from app.settings import Settings
from app.web import create_app
from tests.app.leaving import read_then_leave
from tests.app.sample import ingest_remote_work
from tests.app.signin import add_user
from tests.fakes import FakeGenerator

WORDS = 400
LONG_REPLY = " ".join(f"word{i}" for i in range(WORDS)) + " [1]."


def app_with(settings: Settings, services: Services, **changes: Any) -> TestClient:
    return TestClient(create_app(settings.model_copy(update=changes), services))


@pytest.mark.parametrize(
    "host", ["localhost:8000", "127.0.0.1:8000", "[::1]:8000", "testserver", "LOCALHOST."]
)
def test_loopback_names_are_answered(settings: Settings, services: Services, host: str) -> None:
    with app_with(settings, services) as client:
        assert client.get("/login", headers={"Host": host}).status_code == 200


@pytest.mark.parametrize("host", ["attacker.example:8000", "evil.test", "127.0.0.1.evil.test", ""])
def test_another_sites_name_is_refused(settings: Settings, services: Services, host: str) -> None:
    """A page that rebinds its own name to 127.0.0.1 still sends its own name as Host."""
    with app_with(settings, services) as client:
        response = client.get("/login", headers={"Host": host})
    assert response.status_code == 400
    assert "DOCENT_ALLOWED_HOSTS" in response.text


def test_allowed_hosts_and_the_bound_address_are_added(
    settings: Settings, services: Services
) -> None:
    with app_with(
        settings, services, host="10.1.2.3", allowed_hosts="docent.example.org, Other.Example"
    ) as client:
        for host in ("docent.example.org", "other.example:443", "10.1.2.3:8000", "localhost"):
            assert client.get("/login", headers={"Host": host}).status_code == 200, host
        assert client.get("/login", headers={"Host": "evil.test"}).status_code == 400
    with app_with(settings, services, allowed_hosts="*") as client:
        assert client.get("/login", headers={"Host": "anything.test"}).status_code == 200


def test_host_names_are_read_as_browsers_send_them() -> None:
    from app.web.allowed_hosts import bare

    assert bare("[::1]:8000") == "::1"
    assert bare("::1") == "::1"
    assert bare("Docent.Example.org.:443") == "docent.example.org"


# --- /v1: a client that goes away ---------------------------------------------------------------
@pytest.fixture
def token_app(
    settings: Settings, services: Services, tmp_path: Path
) -> Iterator[tuple[FastAPI, TestClient, str]]:
    ingest_remote_work(services, tmp_path)
    user = add_user(services.accounts, "alice")
    token = services.accounts.issue_api_token(user.id, "v1 test")
    app = create_app(settings, services)
    with TestClient(app) as client:
        yield app, client, token


@pytest.mark.parametrize("spec_version", ["2.3", "2.4"])
def test_a_v1_client_that_goes_away_stops_generation(
    token_app: tuple[FastAPI, TestClient, str], generator: FakeGenerator, spec_version: str
) -> None:
    app, client, token = token_app
    generator.enqueue(LONG_REPLY)
    assert client.portal is not None
    ask = {"model": "docent", "stream": True, "messages": [{"role": "user", "content": "Days?"}]}
    body = client.portal.call(
        partial(
            read_then_leave,
            app,
            "POST",
            "/v1/chat/completions",
            body=json.dumps(ask).encode(),
            headers=[("content-type", "application/json"), ("authorization", f"Bearer {token}")],
            spec_version=spec_version,
            enough=lambda read: read.count('"content":"') >= 4,
        )
    )
    assert "[DONE]" not in body
    assert generator.finished == [False]  # closed before its last word…
    assert generator.yielded[0] < WORDS / 4  # …soon after the client went
    assert generator.running == 0  # and the model is free for the next request
