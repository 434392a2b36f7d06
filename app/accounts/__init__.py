"""Accounts: users with roles and groups, sign-in sessions, API tokens, invites, audit log.

The contract other features code against: `User`, `Accounts` (as `services.accounts`), and
`app.web.auth` for routes. Tables live on `app.accounts.db.metadata`.
"""

from __future__ import annotations

from datetime import timedelta

from app.accounts.credentials import Passwords
from app.accounts.db import make_engine, metadata
from app.accounts.service import Accounts, ApiToken, AuditEntry, Policy
from app.accounts.sessions import Session
from app.accounts.user import AccountError, Role, User
from app.private import private_dir
from app.settings import Settings

__all__ = [
    "AccountError",
    "Accounts",
    "ApiToken",
    "AuditEntry",
    "Passwords",
    "Policy",
    "Role",
    "Session",
    "User",
    "metadata",
    "open_accounts",
    "policy_from",
]


def policy_from(settings: Settings) -> Policy:
    return Policy(
        session_lifetime=timedelta(hours=settings.session_hours),
        invite_lifetime=timedelta(hours=settings.invite_hours),
        login_max_failures=settings.login_max_failures,
        login_window=timedelta(minutes=settings.login_window_minutes),
        login_max_per_address=settings.login_max_per_address,
        login_max_per_username=settings.login_max_per_username,
    )


def open_accounts(settings: Settings, passwords: Passwords | None = None) -> Accounts:
    """Accounts on DOCENT_DATABASE_URL (tables created if missing)."""
    if settings.database_url.startswith("sqlite:///"):
        private_dir(settings.data_dir)
    return Accounts(make_engine(settings.database_url), policy_from(settings), passwords=passwords)
