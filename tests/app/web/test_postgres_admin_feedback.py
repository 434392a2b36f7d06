"""test_admin_feedback.py's scenarios on PostgreSQL: the admin console's feedback review and
usage analytics over the conversation tables."""

from __future__ import annotations

from tests.app.on_postgres import on_postgres
from tests.app.web import test_admin_feedback

globals().update(on_postgres(test_admin_feedback))
