"""A user's conversations: open, rename, delete; feedback on answers.

Only the user's own: another user's conversation or answer is answered 404, as if it did not
exist. htmx requests get the changed fragment; plain form posts are redirected back.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from app.conversations.store import MAX_COMMENT_CHARS, ConversationError
from app.conversations.tables import MAX_TITLE_CHARS
from app.web.auth import CsrfChecked, CurrentUser
from app.web.deps import ServicesDep, is_htmx, templates
from app.web.pages import NOT_FOUND_DETAIL, chat_page

router = APIRouter()
Title = Annotated[str, Form(max_length=MAX_TITLE_CHARS * 2)]
Rating = Annotated[str, Form(max_length=8)]
Comment = Annotated[str, Form(max_length=MAX_COMMENT_CHARS * 2)]


@router.get("/c/{conversation_id}", response_class=HTMLResponse)
def open_conversation(
    request: Request, services: ServicesDep, user: CurrentUser, conversation_id: int
) -> HTMLResponse:
    conversation = services.conversations.get(user.id, conversation_id)
    if conversation is None:
        raise HTTPException(404, NOT_FOUND_DETAIL)
    return chat_page(request, services, user, conversation)


@router.post("/c/{conversation_id}/rename", dependencies=[CsrfChecked])
def rename(
    request: Request, services: ServicesDep, user: CurrentUser, conversation_id: int, title: Title
) -> Response:
    conversation = services.conversations.get(user.id, conversation_id)
    if conversation is None:
        raise HTTPException(404, NOT_FOUND_DETAIL)
    error = None
    try:
        conversation = services.conversations.rename(user.id, conversation_id, title)
    except ConversationError as exc:
        error = str(exc)
    if conversation is None:  # deleted meanwhile
        raise HTTPException(404, NOT_FOUND_DETAIL)
    if is_htmx(request):
        context = {"c": conversation, "current_id": _open_in_page(request), "error": error}
        return templates.TemplateResponse(request, "_conversation_item.html", context)
    if error:
        return chat_page(request, services, user, conversation, 422, rename_error=error)
    return RedirectResponse(f"/c/{conversation_id}", status_code=303)


@router.post("/c/{conversation_id}/delete", dependencies=[CsrfChecked])
def delete(
    request: Request, services: ServicesDep, user: CurrentUser, conversation_id: int
) -> Response:
    """Delete the conversation, its answers and their feedback."""
    if not services.conversations.delete(user.id, conversation_id):
        raise HTTPException(404, NOT_FOUND_DETAIL)
    if not is_htmx(request):
        return RedirectResponse("/", status_code=303)
    if _open_in_page(request) == conversation_id:  # the page showed it: start afresh
        return Response(headers={"HX-Redirect": "/"})
    return HTMLResponse("")  # the sidebar entry is swapped for nothing


@router.post("/messages/{message_id}/feedback", dependencies=[CsrfChecked])
def give_feedback(
    request: Request,
    services: ServicesDep,
    user: CurrentUser,
    message_id: int,
    rating: Rating,
    comment: Comment = "",
) -> Response:
    """Thumbs up or down on an answer, with an optional comment (rating again replaces it)."""
    try:
        message = services.conversations.rate(user.id, message_id, rating, comment)
    except ConversationError as exc:
        raise HTTPException(422, str(exc)) from exc
    if message is None:
        raise HTTPException(404, "no such answer")
    if is_htmx(request):
        context = {"message": message, "saved": True}
        return templates.TemplateResponse(request, "_feedback.html", context)
    return RedirectResponse(f"/c/{message.conversation_id}#m{message.id}", status_code=303)


def _open_in_page(request: Request) -> int | None:
    """The conversation the page that sent this htmx request shows, if any."""
    path = urlsplit(request.headers.get("HX-Current-URL", "")).path
    head, _, tail = path.rpartition("/")
    return int(tail) if head == "/c" and tail.isdigit() else None
