"""Ingestion through the running web app: operators on this machine only (OperatorOnly)."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from app.accounts import Accounts
from app.accounts.operator_token import read_token
from app.cli.main import cli
from app.documents.jobs import JobTable
from app.services import Services
from app.settings import Settings
from app.web import create_app
from tests.app.sample import services_on_disk
from tests.fakes import FakeEmbedder


def _docs(tmp_path: Path) -> Path:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "leave.md").write_text("# Leave\n\nEveryone gets twenty eight days of annual leave.\n")
    return docs


@pytest.fixture
def local_client(settings: Settings, services: Services) -> Iterator[TestClient]:
    app = create_app(settings, services)
    with TestClient(app, client=("127.0.0.1", 50000)) as client:
        yield client


def _token(settings: Settings) -> dict[str, str]:
    token = read_token(settings.data_dir)
    assert token
    return {"Authorization": f"Bearer {token}"}


def test_operator_ingests_and_gets_one_line_per_file(
    local_client: TestClient, settings: Settings, services: Services, tmp_path: Path
) -> None:
    docs = _docs(tmp_path)
    response = local_client.post(
        "/api/v1/ingest", json={"paths": [str(docs)], "workers": 0}, headers=_token(settings)
    )
    assert response.status_code == 200
    events = [json.loads(line) for line in response.text.splitlines()]
    assert events[0] == {"event": "total", "files": 1}
    assert events[1]["event"] == "result" and events[1]["status"] == "new"
    assert events[-1] == {"event": "done"}
    assert services.store.count() == events[1]["chunks"]
    (row,) = JobTable(services.accounts.engine).newest(10)  # a job row, run by the app's worker
    assert (row.kind, row.state, row.outcome, row.chunks) == (
        "ingest",
        "done",
        "new",
        events[1]["chunks"],
    )


@pytest.mark.parametrize(
    ("client_host", "header"),
    [
        ("127.0.0.1", None),
        ("127.0.0.1", "Bearer wrong-token"),
        ("203.0.113.9", "right"),  # the right token from another machine
    ],
)
def test_everyone_else_is_refused(
    settings: Settings, services: Services, tmp_path: Path, client_host: str, header: str | None
) -> None:
    with TestClient(create_app(settings, services), client=(client_host, 1)) as client:
        headers = {}
        if header == "right":
            headers = _token(settings)
        elif header:
            headers = {"Authorization": header}
        response = client.post("/api/v1/ingest", json={"paths": ["/tmp"]}, headers=headers)
    assert response.status_code == 403
    assert services.catalog.all() == []


def test_operator_ingestion_is_for_direct_local_requests_whatever_the_proxies(
    settings: Settings, services: Services, tmp_path: Path
) -> None:
    """The CLI talks to the app directly: it keeps working when the local proxy is named in
    DOCENT_TRUSTED_PROXIES, and a request relayed by a proxy (a forwarding header) is not an
    operator's, even with the token."""
    behind = settings.model_copy(update={"trusted_proxies": "127.0.0.1"})
    docs = str(_docs(tmp_path))
    with TestClient(create_app(behind, services), client=("127.0.0.1", 1)) as client:
        token = _token(settings)
        relayed = token | {"X-Forwarded-For": "127.0.0.1"}
        refused = client.post("/api/v1/ingest", json={"paths": [docs]}, headers=relayed)
        direct = client.post("/api/v1/ingest", json={"paths": [docs], "workers": 0}, headers=token)
    assert refused.status_code == 403
    assert direct.status_code == 200 and direct.text.splitlines()[-1] == '{"event": "done"}'


def test_relative_paths_are_refused(local_client: TestClient, settings: Settings) -> None:
    response = local_client.post(
        "/api/v1/ingest", json={"paths": ["docs"]}, headers=_token(settings)
    )
    assert response.status_code == 422


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_cli_ingest_goes_through_the_running_app_that_holds_the_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, accounts: Accounts
) -> None:
    port = _free_port()
    monkeypatch.setenv("DOCENT_PORT", str(port))
    settings = Settings()
    services = services_on_disk(settings, accounts)  # the default embedded store: locked
    store, catalog, embedder = services.store, services.catalog, services.embedder
    assert isinstance(embedder, FakeEmbedder)
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings, services), port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        while not server.started:
            time.sleep(0.05)
        docs = _docs(tmp_path)
        result = CliRunner().invoke(cli, ["ingest", "--workers", "0", str(docs)])
        assert result.exit_code == 0, result.output
        assert "ingesting through it" in result.output
        assert [r.status for r in catalog.all()] == ["ok"]
        assert store.count() > 0
        assert "leave" in " ".join(t.lower() for t in embedder.embedded_texts)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        store.close()
        catalog.close()


def test_a_failure_while_listing_the_files_is_reported_and_the_next_ingestion_runs(
    settings: Settings, services: Services, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue #15, finding 11: an exception before the work started kept the lock (409 after).
    There is no lock now (batches are queued): the error is the stream's one line, and the
    next ingestion runs."""
    from app.documents import batches

    def broken(paths: object) -> Iterator[Path]:
        raise OSError("the disk went away while counting")
        yield Path()

    docs, headers = _docs(tmp_path), _token_after_start(settings, services)
    app = create_app(settings, services)
    with TestClient(app, client=("127.0.0.1", 1), raise_server_exceptions=False) as client:
        monkeypatch.setattr(batches, "expand_paths", broken)
        failed = client.post(
            "/api/v1/ingest", json={"paths": [str(docs)], "workers": 0}, headers=headers
        )
        monkeypatch.undo()
        again = client.post(
            "/api/v1/ingest", json={"paths": [str(docs)], "workers": 0}, headers=headers
        )
    assert json.loads(failed.text) == {
        "event": "error",
        "message": "OSError: the disk went away while counting",
    }
    assert again.status_code == 200
    assert json.loads(again.text.splitlines()[-1]) == {"event": "done"}


def test_a_client_that_goes_away_before_reading_still_has_its_batch_ingested(
    settings: Settings, services: Services, tmp_path: Path
) -> None:
    """Issue #15, finding 11: the CLI interrupted while the server counted files left the lock
    held. Now the batch is queued before the stream starts, and the worker runs it whether or
    not anyone reads on."""
    docs, headers = _docs(tmp_path), _token_after_start(settings, services)
    with TestClient(create_app(settings, services), client=("127.0.0.1", 1)) as client:
        body = {"paths": [str(docs)], "workers": 0}
        with client.stream("POST", "/api/v1/ingest", json=body, headers=headers) as response:
            assert response.status_code == 200  # and nothing of it is read
        deadline = time.monotonic() + 30
        while services.store.count() == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
    assert services.store.count() > 0  # the ingestion itself went on and finished
    assert [r.status for r in services.catalog.all()] == ["ok"]


def _token_after_start(settings: Settings, services: Services) -> dict[str, str]:
    with TestClient(create_app(settings, services), client=("127.0.0.1", 1)):
        return _token(settings)
