"""Users see what they need, the log gets the rest: no model-server address or reply in an error,
no server paths in the API's sources, no index size on the public health check, and the chat page
counts only the passages its user may search."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from app.generation.http_server import OpenAIGenerator
from app.services import Services
from app.settings import Settings
from app.web import create_app
from ingest.pipeline import ingest_paths
from tests.app.sample import ingest_remote_work
from tests.app.signin import add_user, sign_in
from tests.fakes import FakeGenerator

MODEL_URL = "http://10.9.8.7:8080/v1"
SERVER_REPLY = "CUDA out of memory at /srv/models/secret.gguf"
QUESTION = "How many days a week can I work remotely?"


def _failing(request: httpx.Request) -> httpx.Response:
    if request.url.path.endswith("tokenize"):
        return httpx.Response(404)
    return httpx.Response(500, text=SERVER_REPLY)


@pytest.fixture
def down(settings: Settings, services: Services, tmp_path: Path) -> Iterator[TestClient]:
    """Signed in as alice, with a model server that answers every completion with a 500."""
    ingest_remote_work(services, tmp_path)
    add_user(services.accounts, "alice")
    generator = OpenAIGenerator(
        MODEL_URL, model="m", context_length=4096, transport=httpx.MockTransport(_failing)
    )
    broken = replace(services, answerer=replace(services.answerer, generator=generator))
    with TestClient(create_app(settings, broken)) as client:
        sign_in(client, "alice")
        yield client


def _ask_every_way(client: TestClient) -> dict[str, str]:
    """What the user sees on each way of asking."""
    v1 = {"model": "docent", "messages": [{"role": "user", "content": QUESTION}]}
    with client.stream("GET", "/ask/stream", params={"q": QUESTION}) as streamed:
        chat_stream = "".join(streamed.iter_text())
    form = client.post("/ask", data={"question": QUESTION, "conversation_id": ""})
    return {
        "/api/v1/ask": client.post("/api/v1/ask", json={"question": QUESTION}).text,
        "/v1": client.post("/v1/chat/completions", json=v1).text,
        "/v1 stream": client.post("/v1/chat/completions", json=v1 | {"stream": True}).text,
        "/ask/stream": chat_stream,
        "/ask (no script)": form.text,
    }


def test_model_server_errors_reach_the_log_not_the_user(
    down: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR):
        seen = _ask_every_way(down)
    for way, text in seen.items():
        assert "not answering right now" in text, way
        assert "10.9.8.7" not in text and "secret.gguf" not in text, way
    logged = caplog.text
    assert MODEL_URL in logged and SERVER_REPLY in logged


def test_api_sources_are_file_names_not_server_paths(
    settings: Settings, services: Services, tmp_path: Path, generator: FakeGenerator
) -> None:
    ingest_remote_work(services, tmp_path)
    add_user(services.accounts, "alice")
    generator.enqueue("Three days [1].", "Three days [1].")
    with TestClient(create_app(settings, services)) as client:
        sign_in(client, "alice")
        answer = client.post("/api/v1/ask", json={"question": QUESTION}).json()
        v1 = client.post(
            "/v1/chat/completions",
            json={"model": "docent", "messages": [{"role": "user", "content": QUESTION}]},
        ).json()
    sources = [p["source"] for p in answer["passages"] + answer["citations"] + v1["citations"]]
    assert sources and set(sources) == {"remote.md"}
    assert str(tmp_path) not in json.dumps(answer) + json.dumps(v1)


def test_the_public_health_check_says_only_that_docent_is_up(
    settings: Settings, services: Services, tmp_path: Path
) -> None:
    ingest_remote_work(services, tmp_path)
    with TestClient(create_app(settings, services)) as anonymous:
        assert anonymous.get("/healthz").json() == {"status": "ok"}


def test_the_chat_page_counts_only_the_passages_its_user_may_search(
    settings: Settings, services: Services, tmp_path: Path
) -> None:
    ingest_remote_work(services, tmp_path)
    salaries = tmp_path / "salaries.md"
    salaries.write_text("# Salaries\n\n" + "Band A pays well. " * 400)
    hr_only = replace(services.ingest_options, groups=("hr",))
    ingest_paths(
        [salaries],
        embedder=services.embedder,
        store=services.store,
        catalog=services.catalog,
        options=hr_only,
    )
    chunks = {r.source.rsplit("/", 1)[-1]: r.chunk_count for r in services.catalog.all()}
    assert chunks["salaries.md"] > 1
    add_user(services.accounts, "alice")
    add_user(services.accounts, "hannah", groups=("hr",))
    with TestClient(create_app(settings, services)) as client:
        sign_in(client, "alice")
        member_page = client.get("/").text
    with TestClient(create_app(settings, services)) as client:
        sign_in(client, "hannah")
        hr_page = client.get("/").text
    assert f"{chunks['remote.md']} passages" in member_page
    assert f"{chunks['remote.md'] + chunks['salaries.md']} passages" in hr_page
