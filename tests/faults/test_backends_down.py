"""The vector store or the model server unavailable: a clear error (at start for the store; on the
page, the stream and the APIs for the model), and answers again once the model server is up,
without restarting docent."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from app.models.packaged import smollm2_path
from tests.faults.site import Site, copy_site
from tests.serving import Server, free_port, launch

pytestmark = pytest.mark.slow
QUESTION = "What are the office opening hours?"
UNREACHABLE = "model server is not answering right now"  # its address is only logged


def test_an_unreachable_qdrant_server_stops_the_start_with_a_clear_message(
    template: tuple[Path, str], tmp_path: Path
) -> None:
    closed = f"http://127.0.0.1:{free_port()}"
    site = copy_site(template, tmp_path, DOCENT_QDRANT_URL=closed)
    server = launch(site.env, site.root)
    assert server.wait_exit() == 1
    log = " ".join(server.log.read_text().split())  # the console wraps long lines
    assert f"Cannot reach the Qdrant server at {closed}" in log, log
    assert "DOCENT_QDRANT_URL" in log and "Traceback" not in log, log


@pytest.fixture
def model_port() -> int:
    return free_port()


@pytest.fixture
def docent_without_model(
    template: tuple[Path, str], tmp_path: Path, model_port: int
) -> Iterator[tuple[Site, Server]]:
    """docent configured for a model server on a port where nothing listens yet."""
    site = copy_site(
        template,
        tmp_path,
        DOCENT_LLM_URL=f"http://127.0.0.1:{model_port}/v1",
        DOCENT_LLM_MODEL="smollm2",
    )
    server = launch(site.env, site.root, port=int(site.env["DOCENT_PORT"]))
    server.wait_ready()
    yield site, server
    server.stop()


def test_the_model_server_down_gives_clear_errors_and_answers_return_when_it_starts(
    docent_without_model: tuple[Site, Server], model_port: int, tmp_path: Path
) -> None:
    site, server = docent_without_model
    url = server.url

    events = _stream(url, site)  # the chat's answer stream: a failure fragment, then the end
    assert events[-1][0] == "done" and UNREACHABLE in events[-1][1], events
    page = httpx.post(f"{url}/ask", data={"question": QUESTION}, headers=site.auth, timeout=60)
    assert page.status_code == 503 and UNREACHABLE in page.text  # the page without JavaScript
    openai = httpx.post(
        f"{url}/v1/chat/completions",
        json={"model": "docent", "messages": [{"role": "user", "content": QUESTION}]},
        headers=site.auth,
        timeout=60,
    )
    assert openai.status_code == 503, openai.text
    assert UNREACHABLE in openai.json()["error"]["message"]

    model = _start_model_server(model_port, tmp_path / "llama-server.log")
    try:
        events = _stream(url, site)  # the same docent process
        kinds = [kind for kind, _ in events]
        assert "token" in kinds and kinds[-1] == "done" and UNREACHABLE not in events[-1][1]
        answer = httpx.post(
            f"{url}/api/v1/ask", json={"question": QUESTION}, headers=site.auth, timeout=600
        )
        assert answer.status_code == 200 and answer.json()["answer"], answer.text
    finally:
        model.terminate()
        model.wait(30)


def test_the_json_api_says_the_model_server_is_unreachable(
    docent_without_model: tuple[Site, Server],
) -> None:
    site, server = docent_without_model
    response = httpx.post(
        f"{server.url}/api/v1/ask", json={"question": QUESTION}, headers=site.auth, timeout=60
    )
    assert response.status_code == 503 and UNREACHABLE in response.text, response.text
    assert "127.0.0.1" not in response.text  # the model server's address is for the log
    assert "127.0.0.1" in server.log_tail(200)


def _stream(url: str, site: Site) -> list[tuple[str, str]]:
    """(event, data) pairs of one /ask/stream answer."""
    events: list[tuple[str, str]] = []
    with httpx.stream(
        "GET", f"{url}/ask/stream", params={"q": QUESTION}, headers=site.auth, timeout=600
    ) as stream:
        kind, data = "", list[str]()
        for line in stream.iter_lines():
            if line.startswith("event: "):
                kind, data = line.removeprefix("event: "), []
            elif line.startswith("data:"):
                data.append(line.removeprefix("data:").strip())
            elif not line and kind:
                events.append((kind, "\n".join(data)))
                kind = ""
    return events


def _start_model_server(port: int, log: Path) -> subprocess.Popen[bytes]:
    """llama-cpp-python's OpenAI-compatible server with SmolLM2, listening on `port`."""
    command = [sys.executable, "-m", "llama_cpp.server", "--model", str(smollm2_path())]
    command += ["--port", str(port), "--n_ctx", "2048", "--model_alias", "smollm2"]
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/v1/models", timeout=2).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.3)
    process.kill()
    raise AssertionError(f"llama_cpp.server did not start:\n{log.read_text()[-3000:]}")
