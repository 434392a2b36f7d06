"""The employees' chat page: ask, watch the answer stream, read its sources."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, StreamingResponse

from app.answer import Answer, Done, Retrieved, Token
from app.web.deps import ServicesDep, is_htmx, templates
from app.web.render import token_html
from app.web.sse import sse_event

router = APIRouter()
MAX_QUESTION_CHARS = 2000
Question = Annotated[str, Form(min_length=1, max_length=MAX_QUESTION_CHARS)]
QueryQuestion = Annotated[str, Query(min_length=1, max_length=MAX_QUESTION_CHARS)]


@router.get("/", response_class=HTMLResponse)
def index(request: Request, services: ServicesDep) -> HTMLResponse:
    return templates.TemplateResponse(request, "index.html", _page_context(services))


@router.post("/ask", response_class=HTMLResponse)
def ask(request: Request, services: ServicesDep, question: Question) -> HTMLResponse:
    """htmx gets a fragment that streams; a plain form post gets the finished answer."""
    question = question.strip()
    if is_htmx(request):
        return templates.TemplateResponse(request, "_answer_stream.html", {"question": question})
    answer = services.answerer.answer(question)
    context = _page_context(services) | {"answer": answer, "anchor": _anchor()}
    return templates.TemplateResponse(request, "index.html", context)


@router.get("/ask/stream")
def ask_stream(request: Request, services: ServicesDep, q: QueryQuestion) -> StreamingResponse:
    """Server-sent events: `status`, then `token`s, then `done` with the rendered answer."""
    events = _answer_events(request, services, q.strip())
    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return StreamingResponse(events, media_type="text/event-stream", headers=headers)


@router.get("/healthz")
def healthz(services: ServicesDep) -> dict[str, object]:
    return {"status": "ok", "model": services.model_title, "chunks": services.store.count()}


def _answer_events(request: Request, services: ServicesDep, question: str) -> Iterator[str]:
    stream = services.answerer.stream(question)
    try:
        for event in stream:
            if isinstance(event, Retrieved):
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
    return template.render(request=request, answer=answer, anchor=_anchor())


def _anchor() -> str:
    return "a" + uuid.uuid4().hex[:8]


def _page_context(services: ServicesDep) -> dict[str, object]:
    return {"model_title": services.model_title, "chunk_count": services.store.count()}
