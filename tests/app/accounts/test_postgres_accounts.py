"""test_auth_accounts.py's scenarios on PostgreSQL: passwords, sessions and their expiry, API
tokens, invites, groups, the login throttle, the audit log, the first admin."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from app.accounts import Accounts, Passwords, Policy
from app.accounts.db import make_engine
from tests.app.accounts import test_auth_accounts
from tests.app.on_postgres import on_postgres

globals().update(
    on_postgres(
        test_auth_accounts,
        leave_out=frozenset({"test_settings_choose_the_database"}),  # SQLite files
    )
)


@pytest.fixture
def timed(
    passwords: Passwords, clock: test_auth_accounts.Clock, postgres_url: str
) -> Iterator[Accounts]:
    policy = Policy(session_lifetime=timedelta(hours=2), invite_lifetime=timedelta(hours=1))
    accounts = Accounts(make_engine(postgres_url), policy, passwords=passwords, clock=clock)
    yield accounts
    accounts.close()
