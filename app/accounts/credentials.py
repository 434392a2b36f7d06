"""Passwords (argon2id) and random tokens (stored only as their sha256)."""

from __future__ import annotations

import hashlib
import secrets
from functools import cached_property

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_PASSWORD_CHARS = 8
MAX_PASSWORD_CHARS = 1024  # hashing a megabyte would be a cheap denial of service
API_TOKEN_PREFIX = "dct_"


class Passwords:
    """argon2id hashing with argon2-cffi's recommended parameters (RFC 9106, low memory)."""

    def __init__(self, hasher: PasswordHasher | None = None) -> None:
        self.hasher = hasher or PasswordHasher()

    @cached_property
    def _dummy(self) -> str:
        """Verified against when a user has no hash, so unknown names cost the same time."""
        return self.hasher.hash("docent timing equaliser")

    def hash(self, password: str) -> str:
        return self.hasher.hash(password)

    def verify(self, hashed: str | None, password: str) -> bool:
        """True when `password` matches; a missing hash still costs one verification."""
        try:
            return self.hasher.verify(hashed or self._dummy, password) and hashed is not None
        except (VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, hashed: str) -> bool:
        return self.hasher.check_needs_rehash(hashed)


def check_password(password: str) -> str:
    """The password if it is acceptable, else ValueError with the reason."""
    if len(password) < MIN_PASSWORD_CHARS:
        raise ValueError(f"the password must have at least {MIN_PASSWORD_CHARS} characters")
    if len(password) > MAX_PASSWORD_CHARS:
        raise ValueError(f"the password must have at most {MAX_PASSWORD_CHARS} characters")
    return password


def generate_password() -> str:
    """A random password to print once (144 random bits in three dash-separated parts)."""
    return "-".join(secrets.token_urlsafe(6) for _ in range(3))


def new_token(prefix: str = "") -> str:
    """256 random bits, URL-safe."""
    return prefix + secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    """What the database keeps instead of a token: its sha256 (tokens are high-entropy)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()
