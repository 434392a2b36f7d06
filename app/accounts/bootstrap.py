"""The first admin: created on the first `docent serve` when no active admin exists."""

from __future__ import annotations

from app.accounts.credentials import generate_password
from app.accounts.service import Accounts
from app.accounts.user import User

FIRST_ADMIN = "admin"


def create_first_admin(accounts: Accounts) -> tuple[User, str] | None:
    """(the new admin, their generated password), or None when an active admin exists."""
    if accounts.has_admin():
        return None
    taken = {user.username for user in accounts.list_users()}
    name = next(
        n for n in (FIRST_ADMIN, *(f"{FIRST_ADMIN}{i}" for i in range(2, 100))) if n not in taken
    )
    password = generate_password()
    user = accounts.create_user(name, password=password, role="admin", display_name="Administrator")
    accounts.audit("system", "add-user", user.username, "first admin, created by docent serve")
    return user, password
