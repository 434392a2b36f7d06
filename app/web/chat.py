"""The employees' chat page: ask, watch the answer stream, read its sources."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, StreamingResponse

from app.answer import Answer, Done, Retrieved, Rewritten, Token
from app.followup import Turn
from app.web.auth import CsrfChecked, CurrentUser, Public
from app.web.deps import ServicesDep, is_htmx, signed_in_context, templates
from app.web.render import token_html
from app.web.sse import sse_event

router = APIRouter()
MAX_QUESTION_CHARS = 2000
Question = Annotated[str, Form(min_length=1, max_length=MAX_QUESTION_CHARS)]
QueryQuestion = Annotated[str, Query(min_length=1, max_length=MAX_QUESTION_CHARS)]
Turns = Annotated[list[str] | None, Form(max_length=20)]
MAX_TURNS_KEPT = 3


def parse_turns(raw: list[str]) -> tuple[Turn, ...]:
    """The hidden `turn` inputs (JSON, newest first) as the conversation, oldest first."""
    turns = []
    for item in raw[:MAX_TURNS_KEPT]:
        try:
            data = json.loads(item)
            turns.append(Turn(str(data["question"])[:2000], str(data["answer"])[:4000]))
        except (ValueError, KeyError, TypeError):
            continue  # a damaged turn is dropped, the question still goes on
    return tuple(reversed(turns))


@router.get("/", response_class=HTMLResponse)
def index(request: Request, services: ServicesDep, user: CurrentUser) -> HTMLResponse:
    return templates.TemplateResponse(request, "index.html", _page_context(services))


@router.post("/ask", response_class=HTMLResponse, dependencies=[CsrfChecked])
def ask(
    request: Request,
    services: ServicesDep,
    user: CurrentUser,
    question: Question,
    turn: Turns = None,
) -> HTMLResponse:
    """htmx gets a fragment that streams; a plain form post gets the finished answer.

    Earlier answers on the page post their turn back (hidden inputs), newest first.
    """
    question = question.strip()
    conversation = parse_turns(turn or [])
    if is_htmx(request):
        key = request.app.state.pending.put(question, conversation)
        context = {"question": question, "key": key}
        return templates.TemplateResponse(request, "_answer_stream.html", context)
    answer = services.answerer.answer(question, access=user.access, conversation=conversation)
    context = _page_context(services) | {"answer": answer, "anchor": _anchor()}
    return templates.TemplateResponse(request, "index.html", context)


@router.get("/ask/stream")
def ask_stream(
    request: Request,
    services: ServicesDep,
    user: CurrentUser,
    q: QueryQuestion | None = None,
    key: str | None = None,
) -> StreamingResponse:
    """Server-sent events: `status`, then `token`s, then `done` with the rendered answer.

    `key` names a question posted to /ask (with its conversation); `q` asks directly. Either
    way the answer searches only what the signed-in user may read.
    """
    pending = request.app.state.pending.take(key) if key else None
    if pending is None and not q:
        raise HTTPException(404, "unknown or expired question; ask again")
    question, conversation = (pending.question, pending.conversation) if pending else (q, ())
    events = _answer_events(request, services, user, (question or "").strip(), conversation)
    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return StreamingResponse(events, media_type="text/event-stream", headers=headers)


@router.get("/healthz", dependencies=[Public])
def healthz(services: ServicesDep) -> dict[str, object]:
    return {"status": "ok", "model": services.model_title, "chunks": services.store.count()}


def _answer_events(
    request: Request,
    services: ServicesDep,
    user: CurrentUser,
    question: str,
    conversation: tuple[Turn, ...],
) -> Iterator[str]:
    stream = services.answerer.stream(question, access=user.access, conversation=conversation)
    try:
        for event in stream:
            if isinstance(event, Rewritten):
                yield sse_event("status", f"Searching for: {token_html(event.query)}")
            elif isinstance(event, Retrieved):
                found = len(event.passages)
                yield sse_event("status", f"Found {found} passages; writing the answer…")
            elif isinstance(event, Token):
                yield sse_event("token", token_html(event.text))
            elif isinstance(event, Done):
                yield sse_event("done", _render_answer(request, event.answer))
    finally:
        stream.close()  # stops generation (and frees the model) if the client went away


def _render_answer(request: Request, answer: Answer) -> str:
    template = templates.get_template("_answer.html")
    context = signed_in_context(request) | {"answer": answer, "anchor": _anchor()}
    return template.render(request=request, **context)


def _anchor() -> str:
    return "a" + uuid.uuid4().hex[:8]


def _page_context(services: ServicesDep) -> dict[str, object]:
    return {"model_title": services.model_title, "chunk_count": services.store.count()}
