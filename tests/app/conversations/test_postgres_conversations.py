"""test_conversations.py's scenarios on PostgreSQL: conversations seen by their owner only,
answers round-tripped with their figures, regeneration, feedback once per user, deletion."""

from __future__ import annotations

from tests.app.conversations import test_conversations
from tests.app.on_postgres import on_postgres

globals().update(on_postgres(test_conversations))
