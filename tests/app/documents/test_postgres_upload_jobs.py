"""test_upload_jobs.py's scenarios on PostgreSQL: workers claim files with
`FOR UPDATE SKIP LOCKED`, each file once; a dead worker's file is taken over."""

from __future__ import annotations

from tests.app.documents import test_upload_jobs
from tests.app.on_postgres import on_postgres

globals().update(on_postgres(test_upload_jobs))
