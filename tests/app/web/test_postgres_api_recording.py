"""test_api_recording.py's scenarios on PostgreSQL: every surface's answers counted, and an
older database's conversations table gaining the surface column."""

from __future__ import annotations

from tests.app.on_postgres import on_postgres
from tests.app.web import test_api_recording

globals().update(on_postgres(test_api_recording))
