"""Run a test module's scenarios again on PostgreSQL.

A `test_postgres_*.py` module takes every test and fixture of a SQLite-backed module into its
own namespace with `globals().update(on_postgres(module))`, which also overrides `accounts`:
pytest resolves fixtures by the module that collects a test, so the same scenarios (and the app
services built on `accounts`) run on an empty PostgreSQL schema per test. Without
DOCENT_TEST_DATABASE_URL they skip with the reason shown; under CI they fail instead.
"""

from __future__ import annotations

from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest

from app.accounts import Accounts, Passwords, open_accounts
from app.settings import Settings
from tests.conftest import IN_CI, NEEDS, TEST_DATABASE_URL

needs_postgres = pytest.mark.usefixtures("postgres_url")


def on_postgres(module: ModuleType, leave_out: frozenset[str] = frozenset()) -> dict[str, Any]:
    """The module's public names (its tests and fixtures among them) less `leave_out`, with
    `accounts` on PostgreSQL and every test needing the PostgreSQL server."""
    if not TEST_DATABASE_URL:  # one line per module, not one per test
        if IN_CI:
            raise RuntimeError(f"CI is set but DOCENT_TEST_DATABASE_URL is not: {NEEDS}")
        pytest.skip(f"{module.__name__} on PostgreSQL {NEEDS}", allow_module_level=True)
    unknown = leave_out - set(vars(module))
    if unknown:  # a renamed test would otherwise come back here unnoticed
        raise LookupError(f"{module.__name__} has no {sorted(unknown)}")
    names = {
        name: value
        for name, value in vars(module).items()
        if not name.startswith("_") and name not in leave_out
    }
    return names | {"accounts": pg_accounts, "pytestmark": [needs_postgres]}


@pytest.fixture
def pg_accounts(settings: Settings, passwords: Passwords, postgres_url: str) -> Iterator[Accounts]:
    """The app database on PostgreSQL (an empty schema of DOCENT_TEST_DATABASE_URL)."""
    accounts = open_accounts(settings.model_copy(update={"database_url": postgres_url}), passwords)
    assert accounts.engine.dialect.name == "postgresql"
    yield accounts
    accounts.close()
