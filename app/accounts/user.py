"""Who is asking: a signed-in user, their role and groups."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from ingest.access import Access

Role = Literal["admin", "member"]
ROLES: tuple[Role, ...] = ("admin", "member")
USERNAME = re.compile(r"[a-z0-9][a-z0-9._@+-]{0,63}")
GROUP_NAME = re.compile(r"[\w][\w .@+-]{0,99}")


class AccountError(ValueError):
    """An accounts request that cannot be done (bad name, unknown user…); the message says why."""


@dataclass(frozen=True)
class User:
    id: int
    username: str
    display_name: str
    role: Role
    groups: frozenset[str]
    active: bool

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def access(self) -> Access:
        """What this user may read: everything for admins, their groups' documents for members."""
        return Access.admin() if self.is_admin else Access.member_of(self.groups)

    @property
    def name(self) -> str:
        """What the page shows: the display name, else the username."""
        return self.display_name or self.username


def clean_username(username: str) -> str:
    """Usernames are case-insensitive: stored lower-case; letters, digits and . _ @ + -."""
    name = username.strip().lower()
    if not USERNAME.fullmatch(name):
        raise AccountError(
            f"invalid username {username!r}: use 1-64 letters, digits or . _ @ + - "
            "(starting with a letter or digit)"
        )
    return name


def clean_group(name: str) -> str:
    group = name.strip()
    if not GROUP_NAME.fullmatch(group):
        raise AccountError(
            f"invalid group name {name!r}: 1-100 letters, digits, spaces or . _ @ + -"
        )
    return group


def check_role(role: str) -> Role:
    if role not in ROLES:
        raise AccountError(f"unknown role {role!r}: use admin or member")
    return role
