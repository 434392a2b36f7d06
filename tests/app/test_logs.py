"""Structured logs: one line per request (JSON or text) with its request id, route and user."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

import app.cli.serve
from app.logs import configure_logging
from app.services import Services
from app.settings import Settings
from app.web import create_app
from tests.app.signin import add_user

NAMES = ("", "uvicorn", "uvicorn.error")


@pytest.fixture
def log_output() -> Iterator[io.StringIO]:
    """Capture what configure_logging writes; put the loggers back as they were afterwards."""
    loggers = [logging.getLogger(name) for name in NAMES]
    saved = [(lg, list(lg.handlers), lg.level, lg.propagate) for lg in loggers]
    out = io.StringIO()
    yield out
    for logger, handlers, level, propagate in saved:
        logger.handlers[:] = handlers
        logger.setLevel(level)
        logger.propagate = propagate


def _lines(out: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.getvalue().splitlines()]


def _requests(out: io.StringIO) -> list[dict[str, Any]]:
    return [line for line in _lines(out) if line["logger"] == "docent.request"]


def _app(settings: Settings, services: Services) -> FastAPI:
    app = create_app(settings, services)

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("kaput")

    @app.get("/chatty")
    def chatty() -> dict[str, str]:
        logging.getLogger("docent.test").warning("inside the request")
        return {}

    return app


def test_one_json_line_per_request_with_route_status_duration_user_and_id(
    settings: Settings, services: Services, log_output: io.StringIO
) -> None:
    configure_logging("json", "info", log_output)
    user = add_user(services.accounts, "alice")
    token = services.accounts.issue_api_token(user.id, "logs")
    with TestClient(_app(settings, services)) as client:
        client.get("/v1/models", headers={"Authorization": f"Bearer {token}"})
        client.get("/v1/models/nope", headers={"X-Request-ID": "abc-123"})
    first, second = _requests(log_output)
    assert first["method"] == "GET" and first["route"] == "/v1/models"
    assert first["status"] == 200 and first["user_id"] == user.id
    assert isinstance(first["duration_ms"], float) and first["duration_ms"] >= 0
    assert len(first["request_id"]) == 32  # generated
    assert first["level"] == "info" and first["time"].endswith("+00:00")
    assert second["route"] == "/v1/models/{model_id}" and second["path"] == "/v1/models/nope"
    assert second["status"] == 401 and second["user_id"] is None
    assert second["request_id"] == "abc-123"  # the caller's own id


def test_secrets_in_paths_never_reach_the_request_log(
    settings: Settings, services: Services, log_output: io.StringIO
) -> None:
    """Issue #15, finding 6: invite links (/invite/{token}) were logged whole, so whoever read
    the log could set the invited user's password."""
    configure_logging("json", "info", log_output)
    user = services.accounts.create_user("newcomer")
    token = services.accounts.invite(user.id)
    stray = "dct_" + "A1b2-C3d4_" * 5  # token-shaped, on a path no route takes
    document = "ab" * 32  # a sha256 in hex: not a secret, stays readable
    with TestClient(_app(settings, services), raise_server_exceptions=False) as client:
        client.get(f"/invite/{token}")
        client.post(f"/invite/{token}", data={"password": "x", "confirm": "y"})
        client.get(f"/nowhere/{stray}/{document}")
    logged = json.dumps(_requests(log_output))  # (the test's own HTTP client logs its URLs)
    assert token not in logged and stray not in logged
    paths = [line["path"] for line in _requests(log_output)]
    assert paths == [
        "/invite/[redacted]",
        "/invite/[redacted]",
        f"/nowhere/[redacted]/{document}",
    ]


def test_the_request_id_is_echoed_generated_or_replaced(
    settings: Settings, services: Services
) -> None:
    with TestClient(create_app(settings, services)) as client:
        given = client.get("/healthz", headers={"X-Request-ID": "trace.42:a"})
        fresh = client.get("/healthz")
        replaced = [
            client.get("/healthz", headers={"X-Request-ID": bad}).headers["X-Request-ID"]
            for bad in ("y" * 129, "two words", "<script>", "x\u00e9".encode())
        ]
    assert given.headers["X-Request-ID"] == "trace.42:a"
    assert len(fresh.headers["X-Request-ID"]) == 32
    assert [len(r) for r in replaced] == [32] * 4 and len(set(replaced)) == 4


def test_lines_written_during_a_request_carry_its_id_and_failures_are_errors(
    settings: Settings, services: Services, log_output: io.StringIO
) -> None:
    configure_logging("json", "info", log_output)
    with TestClient(_app(settings, services), raise_server_exceptions=False) as client:
        client.get("/chatty", headers={"X-Request-ID": "req-1"})
        assert client.get("/boom", headers={"X-Request-ID": "req-2"}).status_code == 500
    lines = _lines(log_output)
    inside = next(line for line in lines if line["message"] == "inside the request")
    assert inside["request_id"] == "req-1" and inside["logger"] == "docent.test"
    boom = next(line for line in _requests(log_output) if line["route"] == "/boom")
    assert boom["status"] == 500 and boom["level"] == "error" and boom["request_id"] == "req-2"


def test_text_format_and_level(log_output: io.StringIO) -> None:
    configure_logging("text", "WARNING", log_output)
    logging.getLogger("docent.test").info("quiet")
    logging.getLogger("docent.test").warning("loud")
    configure_logging("text", "info", log_output)  # a second call replaces, never doubles
    logging.getLogger("docent.test").info("again")
    lines = log_output.getvalue().splitlines()
    assert len(lines) == 2
    assert lines[0].endswith("WARNING docent.test [-] loud")
    assert lines[1].endswith("INFO    docent.test [-] again")


def test_log_settings_are_validated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCENT_LOG_LEVEL", "DEBUG")
    monkeypatch.setenv("DOCENT_LOG_FORMAT", "json")
    assert (Settings().log_level, Settings().log_format) == ("debug", "json")
    monkeypatch.setenv("DOCENT_LOG_LEVEL", "loud")
    with pytest.raises(ValueError, match="log_level"):
        Settings()


def test_docent_serve_configures_logging_and_leaves_request_lines_to_the_app(
    settings: Settings,
    services: Services,
    log_output: io.StringIO,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    runs: list[dict[str, Any]] = []
    monkeypatch.setattr(app.cli.serve, "build_services", lambda _settings: services)
    monkeypatch.setattr(app.cli.serve.uvicorn, "run", lambda app, **options: runs.append(options))
    monkeypatch.setattr("sys.stderr", log_output)
    quiet = settings.model_copy(update={"log_format": "json", "ingest_demo": False})
    app.cli.serve.run_server(quiet, "127.0.0.1", 8123, app.cli.serve.Console(file=io.StringIO()))
    assert runs == [
        {
            "host": "127.0.0.1",
            "port": 8123,
            "log_config": None,
            "access_log": False,
            "proxy_headers": False,  # X-Forwarded-For: only from DOCENT_TRUSTED_PROXIES
        }
    ]
    logging.getLogger("uvicorn.error").info("Uvicorn running")
    assert _lines(log_output)[-1]["message"] == "Uvicorn running"
