"""OpenAI-compatible API: `GET /v1/models`, `POST /v1/chat/completions` (streamed or not).

The knowledge base is one model, `docent`. The last user message is the question; earlier user
and assistant messages are the conversation for follow-ups; system messages are ignored (the
knowledge base's own prompt applies). Answers keep their citations in two forms clients
tolerate: a numbered source list at the end of the text, and a `citations` field (the JSON
API's citation objects) on the response, or on the last chunk of a stream.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any, Literal

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from starlette.concurrency import run_in_threadpool

from app.answering.answer import Answer, Done, Events, Failed, Queued, Token
from app.answering.api_view import citation_dict
from app.answering.citations import cited_numbers
from app.answering.followup import Turn
from app.answering.yes_denied import REASKED
from app.generation.generator import GenerationFailed, ModelBusy
from app.web.asking import RETRY_AFTER_SECONDS, in_flight
from app.web.auth import CsrfChecked, CurrentUser
from app.web.deps import ServicesDep
from app.web.errors import validation_error
from app.web.pages import MAX_QUESTION_CHARS
from app.web.recording import keep, kept
from app.web.streaming import ClosingStreamingResponse, Parked, finished
from ingest.planning import is_utf8

MODEL_ID = "docent"
SOURCES_HEADING = "\n\nSources:\n"
MAX_TURNS = 20
PREFIX = "/v1"
router = APIRouter(prefix=PREFIX, tags=["OpenAI-compatible"])
log = logging.getLogger(__name__)


class ContentPart(BaseModel):
    model_config = ConfigDict(extra="allow")
    type: str
    text: str | None = None


class MessageIn(BaseModel):
    model_config = ConfigDict(extra="allow")
    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[ContentPart] | None = None

    @field_validator("content")
    @classmethod
    def _text_only(cls, content: str | list[ContentPart] | None) -> Any:
        if isinstance(content, list) and any(part.type != "text" for part in content):
            raise ValueError("only text content parts are supported")
        texts = content if isinstance(content, list) else [content]
        for text in texts:
            value = text.text if isinstance(text, ContentPart) else text
            if value and not is_utf8(value):
                raise ValueError("the text is not valid Unicode (a lone surrogate)")
        return content

    @property
    def text(self) -> str:
        if isinstance(self.content, list):
            return "".join(part.text or "" for part in self.content)
        return self.content or ""


class StreamOptions(BaseModel):
    include_usage: bool = False


class ChatCompletionRequest(BaseModel):
    """OpenAI's request; parameters docent does not use (temperature, top_p, …) are accepted
    and ignored: the knowledge base's settings apply."""

    model_config = ConfigDict(extra="allow")
    model: str = Field(description=f"`{MODEL_ID}` (see GET /v1/models)")
    messages: list[MessageIn] = Field(min_length=1, max_length=200)
    stream: bool = False
    stream_options: StreamOptions | None = None
    max_tokens: int | None = Field(None, ge=1, description="caps the server's answer length")
    max_completion_tokens: int | None = Field(None, ge=1, description="same as max_tokens")
    n: int = Field(1, description="must be 1")

    @model_validator(mode="after")
    def _one_question(self) -> ChatCompletionRequest:
        if self.n != 1:
            raise ValueError("n must be 1: docent gives one answer per question")
        chat = [m for m in self.messages if m.role in ("user", "assistant")]
        if not chat or chat[-1].role != "user":
            raise ValueError("the conversation must end with a user message: the question")
        question = chat[-1].text.strip()
        if not question:
            raise ValueError("the question (the last user message) is empty")
        if len(question) > MAX_QUESTION_CHARS:
            raise ValueError(f"the question is longer than {MAX_QUESTION_CHARS} characters")
        return self

    def question_and_conversation(self) -> tuple[str, tuple[Turn, ...]]:
        """The last user message, and the earlier exchanges (oldest first) as Turns."""
        chat = [m for m in self.messages if m.role in ("user", "assistant")]
        turns: list[Turn] = []
        asked: str | None = None
        for message in chat[:-1]:
            if message.role == "user":
                if asked is not None:
                    turns.append(Turn(asked, ""))
                asked = message.text.strip()[:MAX_QUESTION_CHARS]
            else:
                turns.append(Turn(asked or "", without_sources(message.text)[:8000]))
                asked = None
        if asked is not None:
            turns.append(Turn(asked, ""))
        return chat[-1].text.strip(), tuple(turns[-MAX_TURNS:])

    @property
    def token_cap(self) -> int | None:
        return self.max_completion_tokens or self.max_tokens


class OpenAIError(Exception):
    """Answered with OpenAI's error body: {"error": {message, type, param, code}}."""

    def __init__(
        self,
        status: int,
        message: str,
        kind: str = "invalid_request_error",
        headers: dict[str, str] | None = None,
        **more: str | None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.headers = headers or {}
        self.body = {"message": message, "type": kind, "param": None, "code": None} | more


@router.get("/models")
async def list_models(services: ServicesDep, user: CurrentUser) -> dict[str, Any]:
    """The knowledge base as a model; `answering_model` names the model that writes."""
    return {"object": "list", "data": [_model_card(services.model_title)]}


@router.get("/models/{model_id}")
async def get_model(model_id: str, services: ServicesDep, user: CurrentUser) -> dict[str, Any]:
    _check_model(model_id)
    return _model_card(services.model_title)


@router.post("/chat/completions", dependencies=[CsrfChecked], response_model=None)
async def chat_completions(
    request: Request, body: ChatCompletionRequest, services: ServicesDep, user: CurrentUser
) -> dict[str, Any] | ClosingStreamingResponse:
    """An answer from the documents the caller may read, in OpenAI's format; `stream: true`
    sends server-sent `data:` chunks ending with `data: [DONE]`. `429` (`rate_limit_exceeded`,
    with `Retry-After`) while the caller already has DOCENT_MAX_QUEUED_PER_USER answers
    waiting or being written."""
    _check_model(body.model)
    question, conversation = body.question_and_conversation()
    answerer, cap = services.answerer, body.token_cap
    limit = answerer.options.max_answer_tokens
    completion = Completion.start(body, limit if cap is None else min(cap, limit))
    slots = in_flight(request)
    slot = slots.take(user.id)
    if slot is None:
        retry = {"Retry-After": str(RETRY_AFTER_SECONDS)}
        raise OpenAIError(429, slots.reason, "requests", retry, code="rate_limit_exceeded")
    if body.stream:
        events = answerer.stream(question, user.access, conversation, max_tokens=cap)
        chunks = completion.chunks(kept(events, services, user, "openai"))
        headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
        # closed when the client goes: the model stops and the slot is given back
        return ClosingStreamingResponse(slot.holding(chunks), headers=headers)
    with slot:
        try:
            events = answerer.stream(question, user.access, conversation, max_tokens=cap)
            answer = await finished(events)  # waits in line without a thread
        except GenerationFailed as exc:
            raise _unavailable(str(exc), busy=isinstance(exc, ModelBusy)) from exc
    await run_in_threadpool(keep, services, user, answer, "openai")
    return completion.whole(answer)


@dataclass(frozen=True)
class Completion:
    """One completion's id and framing, shared by its chunks."""

    id: str
    created: int
    model: str
    max_tokens: int  # the answer's token limit: reaching it finishes with "length"
    include_usage: bool

    @classmethod
    def start(cls, body: ChatCompletionRequest, max_tokens: int) -> Completion:
        usage = bool(body.stream_options and body.stream_options.include_usage)
        return cls(f"chatcmpl-{uuid.uuid4().hex}", int(time.time()), body.model, max_tokens, usage)

    def whole(self, answer: Answer) -> dict[str, Any]:
        message = {"role": "assistant", "content": answer.text + sources_block(answer.text, answer)}
        choice = {"index": 0, "message": message | {"refusal": None}, "logprobs": None}
        return {
            "id": self.id,
            "object": "chat.completion",
            "created": self.created,
            "model": self.model,
            "system_fingerprint": None,
            "choices": [choice | {"finish_reason": self._finish_reason(answer)}],
            "usage": _usage(answer),
            "citations": [citation_dict(c) for c in answer.citations],
        }

    def chunks(self, events: Events) -> Iterator[str | Parked]:
        """SSE lines: role, content pieces, the source list, the finish with citations,
        [usage], [DONE]. A failure mid-way sends OpenAI's `{"error": ...}` and stops."""
        shown: list[str] = []
        try:
            yield self._sse({"role": "assistant", "content": ""})
            for event in events:
                if isinstance(event, Queued):
                    yield Parked(event.moved)  # waits for the line to move without a thread
                elif isinstance(event, Token):
                    shown.append(event.text)
                    yield self._sse({"content": event.text})
                elif isinstance(event, Failed):
                    yield _data({"error": _unavailable(event.message, event.busy).body})
                    return
                elif isinstance(event, Done):
                    yield from self._finish(event.answer, "".join(shown))
                    return
        except Exception:  # the client learns it failed; the details go to the log
            log.exception("chat completion stream failed")
            yield _data({"error": OpenAIError(500, "docent failed to answer", "server_error").body})
        finally:
            events.close()  # stops generation and frees the model if the client went away

    def _finish(self, answer: Answer, shown: str) -> Iterator[str]:
        if not shown.strip():  # a refusal, or nothing but hidden reasoning: say so
            shown = answer.text
            yield self._sse({"content": shown})
        elif answer.declined:  # streamed, then found ungrounded: the client is told, in text
            shown = f"\n\n[docent withheld this answer: {answer.declined_because}.] {answer.text}"
            yield self._sse({"content": shown})
            shown = answer.text
        elif answer.reasked:  # streamed, then asked again: the client is told, in text
            yield self._sse({"content": f"\n\n[docent asked the model again: {REASKED}.] "})
            yield self._sse({"content": answer.text})
            shown = answer.text
        if sources := sources_block(shown, answer):
            yield self._sse({"content": sources})
        citations = [citation_dict(c) for c in answer.citations]
        yield self._sse({}, self._finish_reason(answer), citations=citations)
        if self.include_usage:
            yield _data(self._chunk([], usage=_usage(answer)))
        yield "data: [DONE]\n\n"

    def _finish_reason(self, answer: Answer) -> str:
        return "length" if answer.timings.completion_tokens >= self.max_tokens else "stop"

    def _sse(self, delta: dict[str, Any], finish: str | None = None, **extra: Any) -> str:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
        return _data(self._chunk([choice], **extra))

    def _chunk(self, choices: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
        chunk = {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "system_fingerprint": None,
            "choices": choices,
        }
        if self.include_usage:
            chunk["usage"] = None
        return chunk | extra


def sources_block(text: str, answer: Answer) -> str:
    """The numbered sources for every [n] the reader sees and every citation of the answer."""
    numbers = set(cited_numbers(text)) | {c.number for c in answer.citations}
    shown = [n for n in sorted(numbers) if 1 <= n <= len(answer.passages)]
    if not shown:
        return ""
    lines = [f"[{n}] {_source_label(answer, n)}" for n in shown]
    return SOURCES_HEADING + "\n".join(lines)


def without_sources(text: str) -> str:
    """An earlier answer without the source list docent appended to it."""
    return text.split(SOURCES_HEADING, 1)[0].strip()


def install(app: FastAPI) -> None:
    """The routes, and OpenAI-shaped errors for requests under /v1."""
    app.include_router(router)
    app.add_exception_handler(OpenAIError, _openai_error)
    app.add_exception_handler(RequestValidationError, _validation_error)


def _source_label(answer: Answer, number: int) -> str:
    passage = answer.passages[number - 1]
    label = f"{passage.title} — {PurePath(passage.source).name}"
    where = passage.location
    return f"{label}, {where}" if where and where != passage.title else label


def _model_card(title: str) -> dict[str, Any]:
    return {
        "id": MODEL_ID,
        "object": "model",
        "created": 0,
        "owned_by": "docent",
        "answering_model": title,
    }


def _check_model(model: str) -> None:
    if model != MODEL_ID:
        message = f"The model {model!r} does not exist; this server answers as {MODEL_ID!r}."
        raise OpenAIError(404, message, param="model", code="model_not_found")


def _unavailable(message: str, busy: bool) -> OpenAIError:
    return OpenAIError(503, message, "server_error", code="model_busy" if busy else None)


def _usage(answer: Answer) -> dict[str, int]:
    t = answer.timings
    total = t.prompt_tokens + t.completion_tokens
    return {
        "prompt_tokens": t.prompt_tokens,
        "completion_tokens": t.completion_tokens,
        "total_tokens": total,
    }


def _data(payload: dict[str, Any]) -> str:
    return f"data: {json.dumps(payload, separators=(',', ':'), ensure_ascii=False)}\n\n"


async def _openai_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, OpenAIError)
    return JSONResponse({"error": exc.body}, status_code=exc.status, headers=exc.headers)


async def _validation_error(request: Request, exc: Exception) -> Response:
    """Under /v1: 400 with OpenAI's error body; elsewhere a 422 (a page for browsers)."""
    assert isinstance(exc, RequestValidationError)
    if not request.url.path.startswith(f"{PREFIX}/"):
        return await validation_error(request, exc)
    first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
    location = [str(part) for part in first.get("loc", ()) if part != "body"]
    message = str(first.get("msg", "invalid request")).removeprefix("Value error, ")
    param = ".".join(location) or None
    where = f"{param}: " if param else ""
    return JSONResponse({"error": OpenAIError(400, where + message, param=param).body}, 400)
