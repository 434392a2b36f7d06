"""The employees' chat: ask, watch the answer stream, stop it, regenerate it.

Every answer is stored in one of the user's conversations (`services.conversations`), and a
follow-up gets the stored conversation as its context. htmx posts get a fragment that streams
over SSE (`/ask/stream`: status, token…, done); plain form posts get the finished answer.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from app.answering.answer import Answer, Done, Failed, Queued, Retrieved, Rewritten, Token
from app.answering.followup import Turn
from app.conversations.store import Conversation, Message
from app.generation.generator import GenerationFailed
from app.web.asking import in_flight, take_slot, too_many
from app.web.auth import CsrfChecked, CurrentUser, Public, same_origin
from app.web.deps import ServicesDep, is_htmx, templates
from app.web.pages import MAX_QUESTION_CHARS, NOT_FOUND_DETAIL, chat_page, render_fragment
from app.web.pending import PendingQuestion
from app.web.render import LiveSources, source_item_html, token_html
from app.web.sse import sse_event
from app.web.streaming import ClosingStreamingResponse, Parked, finished

router = APIRouter()
Question = Annotated[str, Form(min_length=1, max_length=MAX_QUESTION_CHARS)]
QueryQuestion = Annotated[str, Query(min_length=1, max_length=MAX_QUESTION_CHARS)]
ConversationField = Annotated[str, Form(max_length=20)]
STREAM_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


@dataclass(frozen=True)
class _Ask:
    """One question on its way to an answer, and where the answer goes."""

    question: str
    turns: tuple[Turn, ...] = ()
    conversation_id: int | None = None  # None: answered, not stored (`/ask/stream?q=`)
    replaces: int | None = None


@router.get("/", response_class=HTMLResponse)
def index(request: Request, services: ServicesDep, user: CurrentUser) -> HTMLResponse:
    """A new conversation; the sidebar lists the user's earlier ones."""
    return chat_page(request, services, user, None)


@router.post("/ask", response_class=HTMLResponse, dependencies=[CsrfChecked])
async def ask(
    request: Request,
    services: ServicesDep,
    user: CurrentUser,
    question: Question,
    conversation_id: ConversationField = "",
) -> Response:
    """Ask in a conversation (`conversation_id`), or start one. htmx gets a fragment that
    streams; a plain form post gets the conversation page with the finished answer."""
    text = question.strip()
    if not text:
        raise HTTPException(422, "the question is empty")
    if refused := _refused(request, user, text):
        return refused
    conversation = await run_in_threadpool(_conversation_for, services, user, conversation_id, text)
    new = not conversation_id.strip()
    return await _reply(request, services, user, conversation, text, replaces=None, new=new)


@router.post(
    "/messages/{message_id}/regenerate", response_class=HTMLResponse, dependencies=[CsrfChecked]
)
async def regenerate(
    request: Request, services: ServicesDep, user: CurrentUser, message_id: int
) -> Response:
    """Ask the conversation's last question again; the new answer takes the old one's place."""
    message, conversation = await run_in_threadpool(_latest, services, user, message_id)
    if refused := _refused(request, user, message.question):
        return refused
    return await _reply(
        request, services, user, conversation, message.question, message.id, new=False
    )


def _latest(
    services: ServicesDep, user: CurrentUser, message_id: int
) -> tuple[Message, Conversation]:
    """The user's message to regenerate and its conversation, if it is the latest answer."""
    message = services.conversations.message(user.id, message_id)
    if message is None:
        raise HTTPException(404, "no such answer")
    conversation = services.conversations.get(user.id, message.conversation_id)
    if conversation is None:
        raise HTTPException(404, "no such answer")
    if not services.conversations.is_latest(message):
        raise HTTPException(409, "Only the latest answer of a conversation can be regenerated.")
    return message, conversation


@router.get("/ask/stream")
def ask_stream(
    request: Request,
    services: ServicesDep,
    user: CurrentUser,
    q: QueryQuestion | None = None,
    key: str | None = None,
) -> Response:
    """Server-sent events: `status` lines, answer `token`s, then `done` with the rendered answer
    (or why there is none). `key` names a question posted to /ask, answered in its conversation
    and stored there; `q` asks one question directly (not stored), only from docent's own pages
    or with the session's CSRF token (another site cannot spend the user's turn). Either way the
    answer searches only what the signed-in user may read. Closing the stream stops generation.
    `429` when the user already has DOCENT_MAX_QUEUED_PER_USER answers on their way."""
    if not key and q and q.strip() and not same_origin(request):
        raise HTTPException(403, "Ask from docent's own page (this request came from elsewhere).")
    slot = take_slot(request, user.id)
    try:
        if key:
            ask = _pending_ask(request, services, user, key)
        elif q and q.strip():
            ask = _Ask(q.strip())
        else:
            raise HTTPException(404, "unknown or expired question; ask again")
    except BaseException:
        slot.release()
        raise
    events = slot.holding(_answer_events(request, services, user, ask))
    return ClosingStreamingResponse(events, headers=STREAM_HEADERS)


@router.get("/healthz", dependencies=[Public])
def healthz() -> dict[str, object]:
    """Public: says the app is up, nothing about what it holds (the model and the documents'
    size are on the chat page, for those signed in)."""
    return {"status": "ok"}


async def _reply(
    request: Request,
    services: ServicesDep,
    user: CurrentUser,
    conversation: Conversation,
    question: str,
    replaces: int | None,
    new: bool,
) -> Response:
    if is_htmx(request):  # the stream takes the slot (refused before this if none was free)
        item = PendingQuestion(question, user.id, conversation.id, replaces)
        key = request.app.state.pending.put(item)
        context = {
            "question": question,
            "key": key,
            "conversation": conversation,
            "new_conversation": new,
        }
        response = templates.TemplateResponse(request, "_answer_stream.html", context)
        response.headers["HX-Push-Url"] = f"/c/{conversation.id}"
        return response
    with take_slot(request, user.id):
        return await _answer_now(request, services, user, conversation, question, replaces)


def _refused(request: Request, user: CurrentUser, question: str) -> Response | None:
    """429 when the user's answers in flight are at DOCENT_MAX_QUEUED_PER_USER (before a
    conversation is started): htmx gets the failed-answer fragment saying why."""
    if not in_flight(request).full(user.id):
        return None
    refusal = too_many(request)
    if not is_htmx(request):
        raise refusal
    context = {"question": question, "message": refusal.detail}
    return templates.TemplateResponse(
        request, "_answer_failed.html", context, status_code=429, headers=refusal.headers
    )


async def _answer_now(
    request: Request,
    services: ServicesDep,
    user: CurrentUser,
    conversation: Conversation,
    question: str,
    replaces: int | None,
) -> Response:
    """Without JavaScript: answer, store, and show the conversation (post/redirect/get). The
    wait in line is spent in the event loop; the database and the answer's work in threads."""
    shown_to = services.stored_access(user.access)
    turns = await run_in_threadpool(
        services.conversations.turns, user.id, conversation.id, shown_to, replaces
    )
    try:
        events = services.answerer.stream(question, access=user.access, conversation=turns)
        answer = await finished(events)
    except GenerationFailed as exc:
        failure = {"question": question, "message": str(exc)}
        return await run_in_threadpool(
            partial(chat_page, request, services, user, conversation, 503, failure=failure)
        )
    record = services.conversations.record
    message = await run_in_threadpool(record, user.id, conversation.id, answer, replaces)
    if message is None:
        raise HTTPException(404, NOT_FOUND_DETAIL)  # deleted while the answer was written
    return RedirectResponse(f"/c/{conversation.id}#m{message.id}", status_code=303)


def _conversation_for(
    services: ServicesDep, user: CurrentUser, conversation_id: str, question: str
) -> Conversation:
    """The user's conversation named by the form, or a new one titled by the question."""
    if not conversation_id.strip():
        return services.conversations.start(user.id, question)
    found = None
    if conversation_id.strip().isdigit():
        found = services.conversations.get(user.id, int(conversation_id))
    if found is None:
        raise HTTPException(404, NOT_FOUND_DETAIL)
    return found


def _pending_ask(request: Request, services: ServicesDep, user: CurrentUser, key: str) -> _Ask:
    pending = request.app.state.pending.take(key, user.id)
    if pending is None or services.conversations.get(user.id, pending.conversation_id) is None:
        raise HTTPException(404, "unknown or expired question; ask again")
    shown_to = services.stored_access(user.access)
    turns = services.conversations.turns(
        user.id, pending.conversation_id, shown_to, before=pending.replaces
    )
    return _Ask(pending.question, turns, pending.conversation_id, pending.replaces)


# --- the event stream ---------------------------------------------------------------------------
def _answer_events(
    request: Request, services: ServicesDep, user: CurrentUser, ask: _Ask
) -> Iterator[str | Parked]:
    stream = services.answerer.stream(ask.question, access=user.access, conversation=ask.turns)
    live = LiveSources()
    try:
        for event in stream:
            if isinstance(event, Queued):
                yield sse_event("status", f"Waiting — {event.ahead} ahead of you…")
                yield Parked(event.moved)  # waits for the line to move without a thread
            elif isinstance(event, Rewritten):
                yield sse_event("status", f"Searching for: {token_html(event.query)}")
            elif isinstance(event, Retrieved):
                found = len(event.passages)
                live.passages = event.passages
                yield sse_event("status", f"Found {found} passages; writing the answer…")
            elif isinstance(event, Token):
                yield sse_event("token", token_html(event.text))
                for number, passage in live.newly_cited(event.text):
                    yield sse_event("source", source_item_html(number, passage))
            elif isinstance(event, Done):
                yield sse_event("done", _finished(request, services, user, ask, event.answer))
            elif isinstance(event, Failed):
                html = render_fragment(
                    request, "_answer_failed.html", question=ask.question, message=event.message
                )
                yield sse_event("done", html)
    finally:
        stream.close()  # stops generation (and frees the model) when the client goes away


def _finished(
    request: Request, services: ServicesDep, user: CurrentUser, ask: _Ask, answer: Answer
) -> str:
    """Store the answer in its conversation (if it has one) and render it."""
    message: Message | None = None
    if ask.conversation_id is not None:
        message = services.conversations.record(user.id, ask.conversation_id, answer, ask.replaces)
    anchor = f"m{message.id}" if message else "a" + uuid.uuid4().hex[:8]
    return render_fragment(request, "_answer.html", answer=answer, message=message, anchor=anchor)
