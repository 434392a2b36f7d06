"""Usage figures over the conversation tables, for the admin console.

Every answer given counts, regenerated ones included; "questions" leaves regenerations out.
`not_found` answers are those that found nothing to answer from (the "not found in the
knowledge base" state); `refused` ones are the part of them where docent did not even ask the
model because the evidence was too weak. Times are naive UTC, as stored.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Engine, case, func, select

from app.accounts.db import users
from app.answering.answer import Answer
from app.answering.api_view import citation_dict
from app.conversations.stored_answer import from_json
from app.conversations.tables import feedback, message_sources, messages


@dataclass(frozen=True)
class FeedbackItem:
    """One user's feedback on one answer, with the question, the answer and its sources."""

    id: int
    message_id: int
    conversation_id: int
    username: str
    rating: str  # up | down
    comment: str
    created_at: datetime
    question: str
    search_query: str | None
    answer_text: str
    answer: Answer  # the answer rated, as it was given
    model: str
    found: bool
    refused: bool
    superseded: bool  # the user regenerated this answer afterwards

    @property
    def sources(self) -> list[dict[str, Any]]:
        """The answer's citations (title, location, passage, span…), as the API shows them."""
        return [citation_dict(c) for c in self.answer.citations]


@dataclass(frozen=True)
class DailyCount:
    day: date
    questions: int  # asked (regenerations not counted)
    answers: int  # given (regenerations counted)
    not_found: int
    refused: int


@dataclass(frozen=True)
class AnswerRates:
    answers: int
    questions: int
    not_found: int
    refused: int

    @property
    def refusal_rate(self) -> float:
        return self.refused / self.answers if self.answers else 0.0

    @property
    def not_found_rate(self) -> float:
        return self.not_found / self.answers if self.answers else 0.0


@dataclass(frozen=True)
class Latency:
    """Percentile -> milliseconds (None when there is nothing to measure)."""

    answers: int
    first_token_ms: dict[float, float | None]  # answers the model wrote (refusals have none)
    total_ms: dict[float, float | None]


@dataclass(frozen=True)
class Cited:
    doc_id: str
    title: str
    answers: int  # answers that cite it


def feedback_queue(
    engine: Engine, *, rating: str | None = None, limit: int = 50, offset: int = 0
) -> list[FeedbackItem]:
    """Feedback newest first, thumbs-down before thumbs-up; `rating` keeps only one kind."""
    down_first = case((feedback.c.rating == "down", 0), else_=1)
    query = (
        select(
            feedback,
            users.c.username,
            messages.c.conversation_id,
            messages.c.question,
            messages.c.search_query,
            messages.c.answer_text,
            messages.c.answer_json,
            messages.c.model,
            messages.c.found,
            messages.c.refused,
            messages.c.superseded,
        )
        .join(messages, messages.c.id == feedback.c.message_id)
        .join(users, users.c.id == feedback.c.user_id)
        .order_by(down_first, feedback.c.created_at.desc(), feedback.c.id.desc())
        .limit(limit)
        .offset(offset)
    )
    if rating is not None:
        query = query.where(feedback.c.rating == rating)
    with engine.connect() as conn:
        rows = conn.execute(query).mappings().all()
    return [
        FeedbackItem(
            id=row["id"],
            message_id=row["message_id"],
            conversation_id=row["conversation_id"],
            username=row["username"],
            rating=row["rating"],
            comment=row["comment"],
            created_at=row["created_at"],
            question=row["question"],
            search_query=row["search_query"],
            answer_text=row["answer_text"],
            answer=from_json(row["answer_json"]),
            model=row["model"],
            found=bool(row["found"]),
            refused=bool(row["refused"]),
            superseded=bool(row["superseded"]),
        )
        for row in rows
    ]


def feedback_counts(engine: Engine, *, since: datetime | None = None) -> dict[str, int]:
    """{"up": n, "down": m}."""
    query = select(feedback.c.rating, func.count()).group_by(feedback.c.rating)
    if since is not None:
        query = query.where(feedback.c.created_at >= since)
    with engine.connect() as conn:
        found = {rating: int(n) for rating, n in conn.execute(query).all()}
    return {"up": found.get("up", 0), "down": found.get("down", 0)}


def daily_counts(engine: Engine, *, days: int, today: date) -> list[DailyCount]:
    """One entry per day of the `days` ending `today` (days without questions too)."""
    first = today - timedelta(days=max(days, 1) - 1)
    day = func.date(messages.c.created_at).label("day")
    query = (
        select(day, *_tallies())
        .where(messages.c.created_at >= datetime.combine(first, time.min))
        .group_by(day)
    )
    with engine.connect() as conn:
        rows = {_as_date(row.day): row for row in conn.execute(query)}
    out = []
    for offset in range((today - first).days + 1):
        current = first + timedelta(days=offset)
        row = rows.get(current)
        counts = [int(row[i] or 0) for i in range(1, 5)] if row else [0, 0, 0, 0]
        out.append(DailyCount(current, counts[1], counts[0], counts[2], counts[3]))
    return out


def answer_rates(engine: Engine, *, since: datetime | None = None) -> AnswerRates:
    query = select(*_tallies())
    if since is not None:
        query = query.where(messages.c.created_at >= since)
    with engine.connect() as conn:
        answers, questions, not_found, refused = (int(v or 0) for v in conn.execute(query).one())
    return AnswerRates(answers, questions, not_found, refused)


def latency_percentiles(
    engine: Engine, *, since: datetime | None = None, percentiles: Iterable[float] = (50, 95)
) -> Latency:
    query = select(messages.c.first_token_ms, messages.c.total_ms)
    if since is not None:
        query = query.where(messages.c.created_at >= since)
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    first = sorted(r.first_token_ms for r in rows if r.first_token_ms is not None)
    total = sorted(r.total_ms for r in rows)
    wanted = list(percentiles)
    return Latency(
        answers=len(rows),
        first_token_ms={p: percentile(first, p) for p in wanted},
        total_ms={p: percentile(total, p) for p in wanted},
    )


def most_cited(engine: Engine, *, limit: int = 10, since: datetime | None = None) -> list[Cited]:
    answers = func.count(func.distinct(message_sources.c.message_id)).label("answers")
    query = (
        select(message_sources.c.doc_id, func.max(message_sources.c.title), answers)
        .join(messages, messages.c.id == message_sources.c.message_id)
        .group_by(message_sources.c.doc_id)
        .order_by(answers.desc(), message_sources.c.doc_id)
        .limit(limit)
    )
    if since is not None:
        query = query.where(messages.c.created_at >= since)
    with engine.connect() as conn:
        return [Cited(doc, title or "", int(n)) for doc, title, n in conn.execute(query).all()]


def percentile(ordered: Sequence[float], p: float) -> float | None:
    """The p-th percentile (0-100) of sorted values, interpolated linearly between ranks."""
    if not ordered:
        return None
    rank = (len(ordered) - 1) * min(max(p, 0.0), 100.0) / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def _tallies() -> list[ColumnElement[Any]]:
    """answers, questions, not found, refused — as SQL aggregates over messages."""
    return [
        func.count(messages.c.id),
        func.sum(case((messages.c.replaces.is_(None), 1), else_=0)),
        func.sum(case((messages.c.found.is_(False), 1), else_=0)),
        func.sum(case((messages.c.refused.is_(True), 1), else_=0)),
    ]


def _as_date(value: Any) -> date:
    """SQLite's date() gives text, PostgreSQL's a date."""
    if isinstance(value, datetime):
        return value.date()
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])
