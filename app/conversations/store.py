"""Conversations: each user's chats, the answers they got, and their feedback on them.

Tables (`app.conversations.tables`) on the app database, any SQL engine. An answer is stored in
docent's own versioned format (`app.conversations.stored_answer`), with what analytics need in
columns of its own: refused and found flags,
timings, model, and the documents it cited (`message_sources`). Regenerating an answer
adds a new message and marks the old one `superseded`: the conversation shows the new one,
analytics and feedback keep both. Deleting a conversation deletes its messages and feedback.
`Conversations` is the one way the app reads and writes them; its analytics methods come from
`app.conversations.stats`.

What shows a stored answer again (`messages`, `turns`) takes the reader's `StoredAccess` and
returns it as that reader may see it now (see `app.conversations.stored_answer.redacted`);
`message` is the stored row, for its ids, question and feedback.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any, Literal

from sqlalchemy import (
    Connection,
    CursorResult,
    Engine,
    RowMapping,
    delete,
    insert,
    select,
    update,
)

from app.accounts.db import create_all, utcnow
from app.answering.answer import Answer
from app.answering.followup import Turn
from app.conversations import corrections as fixes
from app.conversations import stats as stats
from app.conversations.stored_answer import (
    StoredAccess,
    documents_of,
    from_json,
    redacted,
    to_json,
)
from app.conversations.tables import (
    MAX_TITLE_CHARS,
    conversations,
    feedback,
    message_sources,
    messages,
)

Surface = Literal["chat", "api", "openai"]
MAX_COMMENT_CHARS = 2000
RATINGS = ("up", "down")
TURNS_KEPT = 3  # earlier answers given to a follow-up (the condense prompt uses as many)


class ConversationError(ValueError):
    """A request about a conversation that cannot be done (bad title, bad rating…)."""


@dataclass(frozen=True)
class Conversation:
    id: int
    user_id: int
    title: str
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class Feedback:
    rating: str  # up | down
    comment: str
    created_at: datetime


@dataclass(frozen=True)
class Message:
    """One question and the answer given, as stored."""

    id: int
    conversation_id: int
    question: str
    search_query: str | None
    answer_text: str
    answer: Answer  # as it was given (app.conversations.stored_answer)
    found: bool
    refused: bool
    model: str
    first_token_ms: float | None
    total_ms: float
    replaces: int | None
    superseded: bool
    created_at: datetime
    feedback: Feedback | None = None  # the conversation owner's
    hidden_sources: int = 0  # passages taken out: their reader may no longer read them
    withheld: bool = False  # the answer's text too: it was written from one of those

    @property
    def turn(self) -> Turn:
        return Turn(self.question, self.answer_text)


class Conversations:
    """Users' conversations on the app database. Build once; share across requests.

    Every method that reads or changes a conversation takes the asking user's id and acts only
    on that user's own conversations: another user's id is treated as not existing.
    """

    def __init__(self, engine: Engine, clock: Callable[[], datetime] = utcnow) -> None:
        self.engine = engine
        self.clock = clock
        create_all(engine)  # the missing tables, and columns an older docent did not have

    # --- conversations -------------------------------------------------------------------------
    def start(self, user_id: int, title: str, surface: Surface = "chat") -> Conversation:
        """A new, empty conversation; `title` is cut to fit (see `title_for`). Only "chat"
        conversations are listed on the chat page; the others record answers given through
        the APIs, so usage figures count every surface."""
        now, clean = self.clock(), title_for(title)
        row = {"user_id": user_id, "title": clean, "surface": surface}
        row |= {"created_at": now, "updated_at": now}
        with self.engine.begin() as conn:
            new_id = _new_id(conn.execute(insert(conversations).values(**row)))
        return Conversation(new_id, user_id, clean, now, now)

    def list_for(self, user_id: int, limit: int = 200) -> list[Conversation]:
        """The user's conversations, most recently active first."""
        query = (
            select(conversations)
            .where(conversations.c.user_id == user_id)
            .where(conversations.c.surface == "chat")
            .order_by(conversations.c.updated_at.desc(), conversations.c.id.desc())
            .limit(limit)
        )
        with self.engine.connect() as conn:
            return [_conversation(row) for row in conn.execute(query).mappings()]

    def get(self, user_id: int, conversation_id: int) -> Conversation | None:
        """The conversation if it exists and is the user's own, else None."""
        with self.engine.connect() as conn:
            row = _owned(conn, user_id, conversation_id)
        return None if row is None else _conversation(row)

    def rename(self, user_id: int, conversation_id: int, title: str) -> Conversation | None:
        """Give the conversation a new title (1-200 characters); None if not the user's."""
        clean = " ".join(title.split())
        if not clean:
            raise ConversationError("a conversation needs a title")
        if len(clean) > MAX_TITLE_CHARS:
            raise ConversationError(f"a title has at most {MAX_TITLE_CHARS} characters")
        with self.engine.begin() as conn:
            if _owned(conn, user_id, conversation_id) is None:
                return None
            where = conversations.c.id == conversation_id
            conn.execute(update(conversations).where(where).values(title=clean))
        return self.get(user_id, conversation_id)

    def delete(self, user_id: int, conversation_id: int) -> bool:
        """Delete the conversation with its messages and their feedback; False if not found."""
        with self.engine.begin() as conn:
            if _owned(conn, user_id, conversation_id) is None:
                return False
            ids = select(messages.c.id).where(messages.c.conversation_id == conversation_id)
            conn.execute(delete(feedback).where(feedback.c.message_id.in_(ids)))
            conn.execute(delete(message_sources).where(message_sources.c.message_id.in_(ids)))
            conn.execute(delete(messages).where(messages.c.conversation_id == conversation_id))
            conn.execute(delete(conversations).where(conversations.c.id == conversation_id))
        return True

    # --- messages ------------------------------------------------------------------------------
    def record_elsewhere(self, user_id: int, answer: Answer, surface: Surface) -> Message | None:
        """An answer given through an API, kept in a conversation of its own (not listed on
        the chat page) like the chat page's answers."""
        conversation = self.start(user_id, answer.question, surface)
        return self.record(user_id, conversation.id, answer)

    def record(
        self, user_id: int, conversation_id: int, answer: Answer, replaces: int | None = None
    ) -> Message | None:
        """Store an answer in the conversation; with `replaces`, it takes that message's place.
        None if the conversation is not the user's (or was deleted meanwhile)."""
        now = self.clock()
        with self.engine.begin() as conn:
            if _owned(conn, user_id, conversation_id) is None:
                return None
            if replaces is not None:  # the old answer, and any earlier regeneration of it
                old = (messages.c.id == replaces) | (messages.c.replaces == replaces)
                mine = messages.c.conversation_id == conversation_id
                conn.execute(update(messages).where(mine & old).values(superseded=True))
            row = _message_row(conversation_id, answer, replaces, now)
            message_id = _new_id(conn.execute(insert(messages).values(**row)))
            sources = _cited_documents(answer)
            if sources:
                conn.execute(
                    insert(message_sources),
                    [{"message_id": message_id, "doc_id": d, "title": t} for d, t in sources],
                )
            where = conversations.c.id == conversation_id
            conn.execute(update(conversations).where(where).values(updated_at=now))
        return self.message(user_id, message_id)

    def messages(self, user_id: int, conversation_id: int, access: StoredAccess) -> list[Message]:
        """The conversation's answers as shown (regenerated ones replaced), oldest first, each
        without the sources `access` may no longer read (and without its text if the model
        was shown one of them)."""
        query = (
            _messages_query(user_id)
            .where(messages.c.conversation_id == conversation_id)
            .where(messages.c.superseded.is_(False))
            .order_by(messages.c.id)
        )
        with self.engine.connect() as conn:
            kept = [_message(row) for row in conn.execute(query).mappings()]
        readable = access.readable(d for m in kept for d in documents_of(m.answer))
        return [_shown(m, readable) for m in kept]

    def message(self, user_id: int, message_id: int) -> Message | None:
        """One message of the user's own conversations, else None."""
        query = _messages_query(user_id).where(messages.c.id == message_id)
        with self.engine.connect() as conn:
            row = conn.execute(query).mappings().first()
        return None if row is None else _message(row)

    def is_latest(self, message: Message) -> bool:
        """True if no answer shown in its conversation came after it."""
        query = (
            select(messages.c.id)
            .where(messages.c.conversation_id == message.conversation_id)
            .where(messages.c.superseded.is_(False))
            .where(messages.c.id > message.id)
            .limit(1)
        )
        with self.engine.connect() as conn:
            return not message.superseded and conn.execute(query).first() is None

    def turns(
        self,
        user_id: int,
        conversation_id: int,
        access: StoredAccess,
        before: int | None = None,
        keep: int = TURNS_KEPT,
    ) -> tuple[Turn, ...]:
        """The conversation so far for a follow-up: the last `keep` answers that found
        something (earlier than message `before`, if given), oldest first. An answer written
        from a source `access` may no longer read is left out: the model gets nothing of it."""
        shown = self.messages(user_id, conversation_id, access)
        earlier = [
            m for m in shown if m.found and not m.withheld and (before is None or m.id < before)
        ]
        return tuple(m.turn for m in earlier[-keep:])

    # --- feedback ------------------------------------------------------------------------------
    def rate(self, user_id: int, message_id: int, rating: str, comment: str = "") -> Message | None:
        """Thumbs up or down, with an optional comment, on an answer in the user's own
        conversation; rating again replaces the earlier feedback. None if not the user's."""
        if rating not in RATINGS:
            raise ConversationError(f"unknown rating {rating!r}: use up or down")
        text = comment.strip()
        if len(text) > MAX_COMMENT_CHARS:
            raise ConversationError(f"a comment has at most {MAX_COMMENT_CHARS} characters")
        if self.message(user_id, message_id) is None:
            return None
        values = {"rating": rating, "comment": text, "created_at": self.clock()}
        mine = (feedback.c.message_id == message_id) & (feedback.c.user_id == user_id)
        with self.engine.begin() as conn:
            if not conn.execute(update(feedback).where(mine).values(**values)).rowcount:
                row = {"message_id": message_id, "user_id": user_id} | values
                conn.execute(insert(feedback).values(**row))
        return self.message(user_id, message_id)

    # --- corrections (admins' right answers; training examples) -------------------------------
    def correct(self, message_id: int, admin_id: int, text: str) -> None:
        """Store an admin's right answer to a message (any user's: admins review all)."""
        fixes.correct(self.engine, message_id, admin_id, text, self.clock())

    def corrections(self, message_ids: Iterable[int]) -> dict[int, fixes.Correction]:
        return fixes.corrections_of(self.engine, message_ids)

    def reviewed_answers(self) -> list[fixes.ReviewedAnswer]:
        """Answers rated up, and corrected answers (see app.conversations.corrections)."""
        return fixes.reviewed_answers(self.engine)

    # --- analytics (for the admin console) ----------------------------------------------------
    def feedback_queue(
        self, rating: str | None = None, limit: int = 50, offset: int = 0
    ) -> list[stats.FeedbackItem]:
        """Feedback to review: thumbs-down first, newest first within each."""
        return stats.feedback_queue(self.engine, rating=rating, limit=limit, offset=offset)

    def feedback_counts(self, since: datetime | None = None) -> dict[str, int]:
        """How many thumbs up and down (since `since`)."""
        return stats.feedback_counts(self.engine, since=since)

    def daily_counts(self, days: int = 30, today: date | None = None) -> list[stats.DailyCount]:
        """Questions, answers, refusals and not-found answers per day, oldest day first."""
        return stats.daily_counts(self.engine, days=days, today=today or self.clock().date())

    def answer_rates(self, since: datetime | None = None) -> stats.AnswerRates:
        """Answers given and how many were refused or not found (since `since`)."""
        return stats.answer_rates(self.engine, since=since)

    def latency_percentiles(
        self, since: datetime | None = None, percentiles: Iterable[float] = (50, 95)
    ) -> stats.Latency:
        """Time to first token and total answer time, at the given percentiles (ms)."""
        return stats.latency_percentiles(self.engine, since=since, percentiles=percentiles)

    def most_cited(self, limit: int = 10, since: datetime | None = None) -> list[stats.Cited]:
        """The documents cited by the most answers."""
        return stats.most_cited(self.engine, limit=limit, since=since)


def title_for(question: str, limit: int = 80) -> str:
    """A conversation title from its first question: one line, cut at a word near `limit`."""
    text = " ".join(question.split()) or "New conversation"
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0] if " " in text[:limit] else text[:limit]
    return cut.rstrip(" ,;:") + "…"


def _new_id(result: CursorResult[Any]) -> int:
    key = result.inserted_primary_key
    if key is None:  # pragma: no cover - every engine reports the new id of a single insert
        raise RuntimeError("the database did not report the new row's id")
    return int(key[0])


def _owned(conn: Connection, user_id: int, conversation_id: int) -> RowMapping | None:
    query = select(conversations).where(
        (conversations.c.id == conversation_id) & (conversations.c.user_id == user_id)
    )
    return conn.execute(query).mappings().first()


def _messages_query(user_id: int) -> Any:
    mine = (feedback.c.message_id == messages.c.id) & (feedback.c.user_id == user_id)
    return (
        select(
            messages,
            feedback.c.rating,
            feedback.c.comment,
            feedback.c.created_at.label("feedback_at"),
        )
        .join(conversations, conversations.c.id == messages.c.conversation_id)
        .outerjoin(feedback, mine)
        .where(conversations.c.user_id == user_id)
    )


def _message_row(
    conversation_id: int, answer: Answer, replaces: int | None, now: datetime
) -> dict[str, Any]:
    return {
        "conversation_id": conversation_id,
        "question": answer.question,
        "search_query": answer.search_query,
        "answer_text": answer.text,
        "answer_json": to_json(answer),
        "found": answer.found,
        "refused": answer.refused,
        "model": answer.model[:200],
        "prompt_version": answer.prompt_version[:64],
        "first_token_ms": answer.timings.first_token_ms,
        "total_ms": answer.timings.total_ms,
        "replaces": replaces,
        "superseded": False,
        "created_at": now,
    }


def _cited_documents(answer: Answer) -> list[tuple[str, str]]:
    """(doc id, title) of each document the answer cites, once each, in order."""
    seen: dict[str, str] = {}
    for citation in answer.citations:
        seen.setdefault(citation.passage.doc_id, citation.passage.title[:500])
    return list(seen.items())


def _conversation(row: RowMapping) -> Conversation:
    return Conversation(
        row["id"], row["user_id"], row["title"], row["created_at"], row["updated_at"]
    )


def _shown(message: Message, readable: set[str]) -> Message:
    seen = redacted(message.answer, readable)
    if not seen.hidden:
        return message
    text = "" if seen.withheld else message.answer_text
    return replace(
        message,
        answer=seen.answer,
        answer_text=text,
        hidden_sources=seen.hidden,
        withheld=seen.withheld,
    )


def _message(row: RowMapping) -> Message:
    rated = row["rating"] is not None
    return Message(
        id=row["id"],
        conversation_id=row["conversation_id"],
        question=row["question"],
        search_query=row["search_query"],
        answer_text=row["answer_text"],
        answer=from_json(row["answer_json"]),
        found=bool(row["found"]),
        refused=bool(row["refused"]),
        model=row["model"],
        first_token_ms=row["first_token_ms"],
        total_ms=row["total_ms"],
        replaces=row["replaces"],
        superseded=bool(row["superseded"]),
        created_at=row["created_at"],
        feedback=Feedback(row["rating"], row["comment"], row["feedback_at"]) if rated else None,
    )
