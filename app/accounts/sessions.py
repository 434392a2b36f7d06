"""Server-side sign-in sessions and the login throttle, on the app database."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Engine, delete, func, insert, select

from app.accounts.credentials import new_token, token_hash
from app.accounts.db import login_attempts, sessions


@dataclass(frozen=True)
class Session:
    token: str  # goes in the cookie; the database keeps only its hash
    user_id: int
    csrf_token: str  # sent back by every state-changing request of this session
    expires_at: datetime


class SessionStore:
    """Random cookie tokens mapped to users, with an absolute expiry."""

    def __init__(self, engine: Engine, lifetime: timedelta, clock: Callable[[], datetime]) -> None:
        self.engine, self.lifetime, self.clock = engine, lifetime, clock

    def start(self, user_id: int) -> Session:
        now = self.clock()
        session = Session(new_token(), user_id, secrets.token_urlsafe(32), now + self.lifetime)
        row = {
            "token_hash": token_hash(session.token),
            "user_id": user_id,
            "csrf_token": session.csrf_token,
            "created_at": now,
            "expires_at": session.expires_at,
        }
        with self.engine.begin() as conn:
            conn.execute(delete(sessions).where(sessions.c.expires_at <= now))
            conn.execute(insert(sessions).values(**row))
        return session

    def get(self, token: str) -> Session | None:
        """The live session for a cookie token, or None (unknown or expired)."""
        query = select(sessions).where(sessions.c.token_hash == token_hash(token))
        with self.engine.connect() as conn:
            row = conn.execute(query).mappings().first()
        if row is None or row["expires_at"] <= self.clock():
            return None
        return Session(token, row["user_id"], row["csrf_token"], row["expires_at"])

    def end(self, token: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(sessions).where(sessions.c.token_hash == token_hash(token)))

    def end_all(self, user_id: int) -> None:
        """Sign the user out everywhere (password changed, account deactivated)."""
        with self.engine.begin() as conn:
            conn.execute(delete(sessions).where(sessions.c.user_id == user_id))

    def count(self, user_id: int) -> int:
        query = select(func.count()).select_from(sessions).where(sessions.c.user_id == user_id)
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())


class LoginThrottle:
    """At most `max_failures` failed sign-ins per username and address within `window`."""

    def __init__(
        self,
        engine: Engine,
        max_failures: int,
        window: timedelta,
        clock: Callable[[], datetime],
    ) -> None:
        self.engine, self.max_failures, self.window, self.clock = (
            engine,
            max_failures,
            window,
            clock,
        )

    def retry_after(self, username: str, ip: str) -> int:
        """Seconds until this username may try again from this address; 0 when it may now."""
        since = self.clock() - self.window
        query = (
            select(login_attempts.c.at)
            .where(self._who(username, ip), login_attempts.c.at > since)
            .order_by(login_attempts.c.at.desc())
            .limit(self.max_failures)
        )
        with self.engine.connect() as conn:
            times = list(conn.execute(query).scalars())
        if len(times) < self.max_failures:
            return 0
        free_at = times[-1] + self.window  # when the oldest counted failure leaves the window
        return max(1, int((free_at - self.clock()).total_seconds() + 0.999))

    def failed(self, username: str, ip: str) -> None:
        now = self.clock()
        with self.engine.begin() as conn:
            conn.execute(delete(login_attempts).where(login_attempts.c.at <= now - self.window))
            row = {"username": username[:64], "ip": ip[:64], "at": now}  # the columns' lengths
            conn.execute(insert(login_attempts).values(**row))

    def succeeded(self, username: str, ip: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(login_attempts).where(self._who(username, ip)))

    @staticmethod
    def _who(username: str, ip: str) -> ColumnElement[bool]:
        return (login_attempts.c.username == username[:64]) & (login_attempts.c.ip == ip[:64])
