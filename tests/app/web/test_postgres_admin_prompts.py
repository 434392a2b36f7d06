"""test_admin_prompts.py's scenarios on PostgreSQL: prompt versions saved, listed, previewed
and restored from the admin console."""

from __future__ import annotations

from tests.app.on_postgres import on_postgres
from tests.app.web import test_admin_prompts

globals().update(on_postgres(test_admin_prompts))
