"""test_app_catalog.py's scenarios with the catalog in PostgreSQL."""

from __future__ import annotations

from tests.app.documents import test_app_catalog
from tests.app.on_postgres import on_postgres

globals().update(on_postgres(test_app_catalog))
