"""Admins' corrections of answers rated down, and the reviewed answers training learns from.

A correction is the answer the model should have given (with the sources' [n] markers), stored
with the admin who wrote it and when. `reviewed_answers` reads both kinds of examples people
give: answers rated up, and corrected answers.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, insert, select, update

from app.accounts.db import users
from app.answering.answer import Answer
from app.conversations.stored_answer import from_json
from app.conversations.tables import corrections, feedback, messages

MAX_CORRECTION_CHARS = 8000


class CorrectionError(ValueError):
    """A correction that cannot be stored (empty, too long, no such answer)."""


@dataclass(frozen=True)
class Correction:
    message_id: int
    text: str
    username: str  # the admin who wrote it
    created_at: datetime


@dataclass(frozen=True)
class ReviewedAnswer:
    """An answer people reviewed: rated up (`correction` None) or corrected by an admin."""

    message_id: int
    question: str
    search_query: str | None
    answer: Answer  # as it was given: its passages are what the model was shown
    correction: Correction | None = None


def correct(engine: Engine, message_id: int, admin_id: int, text: str, now: datetime) -> None:
    """Store (or replace) the right answer to message `message_id`, written by `admin_id`."""
    clean = text.strip()
    if not clean:
        raise CorrectionError("write the right answer before saving it")
    if len(clean) > MAX_CORRECTION_CHARS:
        raise CorrectionError(f"a correction has at most {MAX_CORRECTION_CHARS} characters")
    values = {"user_id": admin_id, "text": clean, "created_at": now}
    with engine.begin() as conn:
        exists = conn.execute(select(messages.c.id).where(messages.c.id == message_id)).first()
        if exists is None:
            raise CorrectionError(f"no answer {message_id}")
        where = corrections.c.message_id == message_id
        if not conn.execute(update(corrections).where(where).values(**values)).rowcount:
            conn.execute(insert(corrections).values(message_id=message_id, **values))


def corrections_of(engine: Engine, message_ids: Iterable[int]) -> dict[int, Correction]:
    """The corrections of these messages, by message id."""
    ids = list(message_ids)
    if not ids:
        return {}
    query = (
        select(corrections, users.c.username)
        .join(users, users.c.id == corrections.c.user_id)
        .where(corrections.c.message_id.in_(ids))
    )
    with engine.connect() as conn:
        rows = conn.execute(query).mappings().all()
    return {
        row["message_id"]: Correction(
            row["message_id"], row["text"], row["username"], row["created_at"]
        )
        for row in rows
    }


def reviewed_answers(engine: Engine) -> list[ReviewedAnswer]:
    """Answers rated up by anyone and not rated down by anyone, and corrected answers (oldest
    first, each once; a corrected answer counts as corrected whatever its ratings)."""
    down = select(feedback.c.message_id).where(feedback.c.rating == "down")
    up = select(feedback.c.message_id).where(feedback.c.rating == "up")
    fixed = select(corrections.c.message_id)
    query = (
        select(messages.c.id, messages.c.question, messages.c.search_query, messages.c.answer_json)
        .where(messages.c.id.in_(fixed) | (messages.c.id.in_(up) & messages.c.id.not_in(down)))
        .order_by(messages.c.id)
    )
    with engine.connect() as conn:
        rows = conn.execute(query).mappings().all()
    fixes = corrections_of(engine, [row["id"] for row in rows])
    return [
        ReviewedAnswer(
            row["id"],
            row["question"],
            row["search_query"],
            from_json(row["answer_json"]),
            fixes.get(row["id"]),
        )
        for row in rows
    ]
