"""test_conversations_stats.py's scenarios on PostgreSQL: the feedback queue, per-day counts
(PostgreSQL's date() gives dates, SQLite's text), rates, latency, most-cited documents."""

from __future__ import annotations

from tests.app.conversations import test_conversations_stats
from tests.app.on_postgres import on_postgres

globals().update(on_postgres(test_conversations_stats))
