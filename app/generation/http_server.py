"""A `Generator` that talks to an OpenAI-compatible server (llama-server, llama-cpp-python's
server, vLLM, …): several app workers can share one model server."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Sequence
from typing import Any

import httpx

from app.generation.generator import ChatMessage, FairQueue, GenerationFailed, Pieces
from app.generation.opening import Opening

_TOKENIZE_ROUTES = (  # llama.cpp's llama-server, then llama-cpp-python's server
    ("/tokenize", lambda text, model: {"content": text}),
    ("/extras/tokenize", lambda text, model: {"input": text, "model": model}),
)
CHARS_PER_TOKEN_GUESS = 3.0  # when the server cannot count: errs on the long side
# What users are told; the server's address and its reply go to the log only (they name
# internal hosts, and a server's error text can hold anything, prompts included).
UNAVAILABLE = "The model server is not answering right now; try again in a moment."
log = logging.getLogger(__name__)


class GeneratorUnavailable(GenerationFailed):
    """The model server cannot be reached or answered with an error."""


class OpenAIGenerator:
    def __init__(
        self,
        base_url: str,
        *,
        model: str,
        context_length: int,
        api_key: str | None = None,
        timeout: float = 600.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.model_id = model
        self.adapter = ""  # the server applies its own adapters (llama-server --lora)
        self.context_length = context_length
        self.queue: FairQueue | None = None  # the server queues (or batches) requests itself
        self._base = base_url.rstrip("/")  # e.g. http://127.0.0.1:8080/v1
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.Client(headers=headers, timeout=timeout, transport=transport)
        self._tokenize: tuple[str, Any] | bool | None = False  # False: not probed yet

    def count_tokens(self, text: str) -> int:
        route = self._tokenizer_route()
        if route is None:
            return int(len(text) / CHARS_PER_TOKEN_GUESS) + 1
        path, body = route
        response = self._client.post(self._server_root() + path, json=body(text, self.model_id))
        return len(response.json()["tokens"])

    def stream(
        self,
        messages: Sequence[ChatMessage],
        *,
        max_tokens: int,
        temperature: float,
        opening: Opening | None = None,  # not weighed: the server sends no first-token odds
    ) -> Pieces:
        body = {
            "model": self.model_id,
            "messages": [{"role": m.role, "content": m.content} for m in messages],
            "max_tokens": max_tokens,
            "temperature": temperature,
            "stream": True,
        }
        url = self._base + "/chat/completions"
        try:
            with self._client.stream("POST", url, json=body) as response:
                if response.status_code != 200:
                    response.read()
                    log.error(
                        "the model server at %s answered %s: %s",
                        url,
                        response.status_code,
                        response.text[:300],
                    )
                    raise GeneratorUnavailable(UNAVAILABLE)
                yield from _deltas(response.iter_lines())
        except httpx.HTTPError as exc:
            log.error("cannot reach the model server at %s: %s", url, exc)
            raise GeneratorUnavailable(UNAVAILABLE) from exc

    def _server_root(self) -> str:
        return self._base.removesuffix("/v1")

    def _tokenizer_route(self) -> tuple[str, Any] | None:
        if self._tokenize is False:
            self._tokenize = self._probe_tokenizer()
        return self._tokenize if isinstance(self._tokenize, tuple) else None

    def _probe_tokenizer(self) -> tuple[str, Any] | None:
        for path, body in _TOKENIZE_ROUTES:
            try:
                response = self._client.post(
                    self._server_root() + path, json=body("hi", self.model_id)
                )
            except httpx.HTTPError:
                return None
            if response.status_code == 200 and "tokens" in response.json():
                return path, body
        return None


def _deltas(lines: Iterator[str]) -> Iterator[str]:
    """The content pieces of an OpenAI streaming response (server-sent events)."""
    for line in lines:
        if not line.startswith("data:"):
            continue
        data = line[5:].strip()
        if data == "[DONE]":
            return
        choices = json.loads(data).get("choices") or [{}]
        piece = (choices[0].get("delta") or {}).get("content")
        if piece:
            yield piece
