"""Feedback review (thumbs-down first, with question, answer and sources) and usage analytics,
read from the conversation tables (`services.conversations`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup

from app.accounts.db import utcnow
from app.answering.support import Span
from app.conversations.corrections import MAX_CORRECTION_CHARS, CorrectionError
from app.conversations.stats import FeedbackItem
from app.web.admin.common import PAGE_SIZE, page, redirect
from app.web.auth import AdminUser, CsrfChecked, accounts_of
from app.web.deps import ServicesDep
from app.web.render import highlighted

router = APIRouter()
PERIODS = (7, 30, 90)


@dataclass(frozen=True)
class SourceView:
    number: int
    title: str
    location: str
    passage: Markup  # the passage with the supporting span marked


def source_views(item: FeedbackItem) -> list[SourceView]:
    views = []
    for cited in item.sources:
        span = cited.get("span")
        marked = highlighted(cited.get("text", ""), Span(**span) if span else None)
        views.append(
            SourceView(cited["number"], cited.get("title", ""), cited.get("location", ""), marked)
        )
    return views


@router.get("/feedback", response_class=HTMLResponse)
def feedback(
    request: Request,
    services: ServicesDep,
    user: AdminUser,
    rating: Annotated[Literal["", "down", "up"], Query()] = "",
    page_number: Annotated[int, Query(alias="page", ge=1, le=100_000)] = 1,
) -> HTMLResponse:
    store = services.conversations
    items = store.feedback_queue(
        rating=rating or None, limit=PAGE_SIZE + 1, offset=(page_number - 1) * PAGE_SIZE
    )
    shown = items[:PAGE_SIZE]
    return page(
        request,
        "admin/feedback.html",
        "feedback",
        items=[(item, source_views(item)) for item in shown],
        corrections=store.corrections(item.message_id for item in shown),
        max_correction=MAX_CORRECTION_CHARS,
        counts=store.feedback_counts(),
        rating=rating,
        page_number=page_number,
        has_next=len(items) > PAGE_SIZE,
    )


@router.post("/feedback/{message_id}/correction", dependencies=[CsrfChecked])
def correct(
    request: Request,
    services: ServicesDep,
    user: AdminUser,
    message_id: int,
    text: Annotated[str, Form(max_length=MAX_CORRECTION_CHARS * 2)],
    rating: Annotated[Literal["", "down", "up"], Form()] = "",
) -> Response:
    """Store the right answer to a rated answer (with who and when): a training example."""
    try:
        services.conversations.correct(message_id, user.id, text)
    except CorrectionError as exc:
        raise HTTPException(422, str(exc)) from exc
    accounts_of(request).audit(user, "correct-answer", str(message_id))
    back = "/admin/feedback" + (f"?rating={rating}" if rating else "")
    return redirect(back, "corrected", str(message_id))


@router.get("/analytics", response_class=HTMLResponse)
def analytics(
    request: Request,
    services: ServicesDep,
    user: AdminUser,
    days: Annotated[int, Query(ge=1, le=365)] = 30,
) -> HTMLResponse:
    """Questions per day, refusal and not-found rates, latency p50/p95, most-cited documents."""
    store = services.conversations
    since = utcnow() - timedelta(days=days)
    daily = store.daily_counts(days=days)
    context: dict[str, Any] = {
        "days": days,
        "periods": PERIODS,
        "daily": daily,
        "busiest": max((d.questions for d in daily), default=0),
        "rates": store.answer_rates(since=since),
        "latency": store.latency_percentiles(since=since),
        "cited": store.most_cited(limit=10, since=since),
        "feedback": store.feedback_counts(since=since),
        "known": {record.doc_id for record in services.catalog.all()},
    }
    return page(request, "admin/analytics.html", "analytics", **context)
