"""The conversation tables, on the app database's one `metadata` (portable column types).

conversations (a user's chat) -> messages (a question and the answer given) -> message_sources
(documents the answer cited) and feedback (a user's thumbs up/down and comment on an answer).
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from app.accounts.db import metadata

MAX_TITLE_CHARS = 200

conversations = Table(
    "conversations",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("title", String(MAX_TITLE_CHARS), nullable=False),
    # where it was asked: "chat" (the page lists these), "api" (/api/v1/ask), "openai" (/v1)
    Column("surface", String(16), nullable=False, default="chat"),
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
)
Index("conversations_user", conversations.c.user_id, conversations.c.updated_at)

messages = Table(
    "messages",
    metadata,
    Column("id", Integer, primary_key=True),
    Column(
        "conversation_id",
        Integer,
        ForeignKey("conversations.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("question", Text, nullable=False),
    Column("search_query", Text, nullable=True),  # the standalone rewrite of a follow-up
    Column("answer_text", Text, nullable=False),
    Column("answer_json", Text, nullable=False),  # app.conversations.stored_answer.stored
    Column("found", Boolean, nullable=False),
    Column("refused", Boolean, nullable=False),  # evidence too weak: nothing generated
    Column("model", String(200), nullable=False),
    Column("prompt_version", String(64), nullable=False),
    Column("first_token_ms", Float, nullable=True),
    Column("total_ms", Float, nullable=False),
    Column("replaces", Integer, nullable=True),  # the message this one regenerated
    Column("superseded", Boolean, nullable=False, default=False),
    Column("created_at", DateTime, nullable=False),
)
Index("messages_conversation", messages.c.conversation_id, messages.c.id)
Index("messages_created", messages.c.created_at)

message_sources = Table(
    "message_sources",
    metadata,
    Column("message_id", Integer, ForeignKey("messages.id", ondelete="CASCADE"), primary_key=True),
    Column("doc_id", String(255), primary_key=True),
    Column("title", String(500), nullable=False),  # as it was when cited
)
Index("message_sources_doc", message_sources.c.doc_id)

feedback = Table(
    "feedback",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("message_id", Integer, ForeignKey("messages.id", ondelete="CASCADE"), nullable=False),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("rating", String(8), nullable=False),  # up | down
    Column("comment", Text, nullable=False),
    Column("created_at", DateTime, nullable=False),
    UniqueConstraint("message_id", "user_id", name="feedback_once_per_user"),
)
Index("feedback_rating", feedback.c.rating, feedback.c.created_at)

# an admin's right answer to an answer rated down (one per message; writing again replaces it):
# a training example for `docent tune data`
corrections = Table(
    "corrections",
    metadata,
    Column("message_id", Integer, ForeignKey("messages.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("text", Text, nullable=False),
    Column("created_at", DateTime, nullable=False),
)
