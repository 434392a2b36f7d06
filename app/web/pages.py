"""What several routes show: the chat page, fragments rendered inside a stream, and the limits
every way of asking shares. Routes import this module, never each other."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse

from app.conversations.store import Conversation
from app.documents.library import readable_chunks
from app.web.auth import CurrentUser
from app.web.deps import ServicesDep, templates

MAX_QUESTION_CHARS = 2000  # the chat form, `/api/v1/ask` and `/v1` messages
NOT_FOUND_DETAIL = "no such conversation"


def chat_page(
    request: Request,
    services: ServicesDep,
    user: CurrentUser,
    conversation: Conversation | None,
    status_code: int = 200,
    **extra: Any,
) -> HTMLResponse:
    """The chat page: the user's conversations beside the open one (None: a new one)."""
    shown_to = services.stored_access(user.access)
    messages = (
        services.conversations.messages(user.id, conversation.id, shown_to) if conversation else []
    )
    context = {
        "model_title": services.model_title,
        "adapter": services.generator.adapter,
        "chunk_count": readable_chunks(services.catalog, user.access),  # not others' documents
        "conversations": services.conversations.list_for(user.id),
        "conversation": conversation,
        "thread": [(m.answer, m) for m in messages],
    }
    return templates.TemplateResponse(
        request, "index.html", context | extra, status_code=status_code
    )


def render_fragment(request: Request, name: str, **context: Any) -> str:
    """A template rendered outside a TemplateResponse (inside a stream), with the same
    signed-in context every page gets."""
    signed_in = {
        "request": request,
        "current_user": getattr(request.state, "user", None),
        "csrf_token": getattr(request.state, "csrf_token", ""),
    }
    return templates.get_template(name).render(signed_in | context)
