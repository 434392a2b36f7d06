"""The OpenAI-compatible generator: a stand-in transport for the protocol, a real server for
the real thing."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest

from app.generation.generator import ChatMessage
from app.generation.http_server import GeneratorUnavailable, OpenAIGenerator
from app.models.packaged import smollm2_path

MESSAGES = [ChatMessage("system", "Be brief."), ChatMessage("user", "Say hello.")]


class RecordingServer:
    """Answers like an OpenAI server would; records every request it receives."""

    def __init__(self, pieces: list[str], status: int = 200) -> None:
        self.pieces, self.status = pieces, status
        self.requests: list[tuple[str, dict[str, object]]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content or b"{}")
        self.requests.append((request.url.path, body))
        if request.url.path.endswith("/tokenize"):
            return httpx.Response(404)
        if self.status != 200:
            return httpx.Response(self.status, text="model overloaded")
        events = [{"choices": [{"delta": {"content": p}}]} for p in self.pieces]
        lines = [f"data: {json.dumps(e)}\n\n" for e in events] + ["data: [DONE]\n\n"]
        return httpx.Response(
            200, text="".join(lines), headers={"content-type": "text/event-stream"}
        )


def test_streams_the_content_pieces_and_sends_the_request() -> None:
    server = RecordingServer(["Hel", "lo", "!"])
    generator = OpenAIGenerator(
        "http://models:8080/v1",
        model="m",
        context_length=4096,
        transport=httpx.MockTransport(server),
    )
    assert "".join(generator.stream(MESSAGES, max_tokens=5, temperature=0.0)) == "Hello!"
    path, body = server.requests[-1]
    assert path == "/v1/chat/completions"
    assert body["stream"] is True and body["max_tokens"] == 5 and body["model"] == "m"
    assert body["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Say hello."},
    ]


def test_without_a_tokenizer_route_token_counts_err_on_the_long_side() -> None:
    server = RecordingServer([])
    generator = OpenAIGenerator(
        "http://models:8080/v1",
        model="m",
        context_length=4096,
        transport=httpx.MockTransport(server),
    )
    assert generator.count_tokens("x" * 300) > 300 / 4


def test_server_errors_are_clear_in_the_log_and_plain_to_the_user(
    caplog: pytest.LogCaptureFixture,
) -> None:
    generator = OpenAIGenerator(
        "http://models:8080/v1",
        model="m",
        context_length=4096,
        transport=httpx.MockTransport(RecordingServer([], status=503)),
    )
    with pytest.raises(GeneratorUnavailable, match="not answering right now") as refused:
        list(generator.stream(MESSAGES, max_tokens=5, temperature=0.0))
    assert "models:8080" not in str(refused.value)
    assert "http://models:8080/v1/chat/completions answered 503: model overloaded" in caplog.text
    unreachable = OpenAIGenerator("http://127.0.0.1:9/v1", model="m", context_length=4096)
    with pytest.raises(GeneratorUnavailable, match="not answering right now"):
        list(unreachable.stream(MESSAGES, max_tokens=5, temperature=0.0))
    assert "cannot reach the model server at http://127.0.0.1:9/v1" in caplog.text


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = _free_port()
    log = (tmp_path_factory.mktemp("llama-server") / "server.log").open("w")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            str(smollm2_path()),
            "--port",
            str(port),
            "--n_ctx",
            "1024",
            "--model_alias",
            "smollm2",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,  # llama.cpp logs a lot: a pipe nobody reads would block it
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                if httpx.get(url + "/v1/models", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        else:
            pytest.fail("llama_cpp.server did not start")
        yield url + "/v1"
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


@pytest.mark.slow
def test_real_llama_cpp_server_streams_and_counts_tokens(llama_server: str) -> None:
    generator = OpenAIGenerator(llama_server, model="smollm2", context_length=1024)
    pieces = list(generator.stream(MESSAGES, max_tokens=12, temperature=0.0))
    assert len(pieces) > 1 and "".join(pieces).strip()
    assert generator.count_tokens("Hello world, hello world.") < 12  # a real tokenizer, not a guess
