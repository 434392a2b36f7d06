"""Server-side sign-in sessions and the login throttle, on the app database."""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Connection, Engine, delete, func, insert, select, text

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


THROTTLE_LOCK = 0x646F63656E75  # pg_advisory_xact_lock key: one sign-in attempt counted at a time


class LoginThrottle:
    """Sign-in attempts within `window`: at most `max_failures` per username and address,
    `max_per_address` per address (any username: spraying names, unknown ones included) and
    `max_per_username` per username (any address: guessing one account from many machines).

    An attempt is counted *before* the password is verified (`attempt`), under a lock, so
    attempts made in parallel cannot all pass the check while the slow verification runs; a
    successful sign-in takes its username and address's attempts back (`succeeded`).
    """

    def __init__(
        self,
        engine: Engine,
        max_failures: int,
        window: timedelta,
        clock: Callable[[], datetime],
        max_per_address: int = 20,
        max_per_username: int = 50,
    ) -> None:
        self.engine, self.max_failures, self.window, self.clock = (
            engine,
            max_failures,
            window,
            clock,
        )
        self.max_per_address, self.max_per_username = max_per_address, max_per_username
        self._lock = threading.Lock()  # SQLite: one process; PostgreSQL adds an advisory lock

    def attempt(self, username: str, ip: str) -> int:
        """Count a sign-in attempt before its password is checked: 0 when it may go on, else the
        seconds to wait (the attempt is then refused and not counted)."""
        now = self.clock()
        with self._lock, self.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": THROTTLE_LOCK})
            conn.execute(delete(login_attempts).where(login_attempts.c.at <= now - self.window))
            if wait := self._retry_after(conn, username, ip, now):
                return wait
            row = {"username": username[:64], "ip": ip[:64], "at": now}  # the columns' lengths
            conn.execute(insert(login_attempts).values(**row))
        return 0

    def retry_after(self, username: str, ip: str) -> int:
        """Seconds until this username may try again from this address; 0 when it may now."""
        with self.engine.connect() as conn:
            return self._retry_after(conn, username, ip, self.clock())

    def failed(self, username: str, ip: str) -> None:
        """Count an attempt whatever the limits (an attempt made outside `attempt`)."""
        now = self.clock()
        with self.engine.begin() as conn:
            row = {"username": username[:64], "ip": ip[:64], "at": now}
            conn.execute(insert(login_attempts).values(**row))

    def succeeded(self, username: str, ip: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(login_attempts).where(self._who(username, ip)))

    def _retry_after(self, conn: Connection, username: str, ip: str, now: datetime) -> int:
        limits = (
            (self._who(username, ip), self.max_failures),
            (login_attempts.c.ip == ip[:64], self.max_per_address),
            (login_attempts.c.username == username[:64], self.max_per_username),
        )
        return max(self._wait(conn, who, limit, now) for who, limit in limits)

    def _wait(self, conn: Connection, who: ColumnElement[bool], limit: int, now: datetime) -> int:
        query = (
            select(login_attempts.c.at)
            .where(who, login_attempts.c.at > now - self.window)
            .order_by(login_attempts.c.at.desc())
            .limit(limit)
        )
        times = list(conn.execute(query).scalars())
        if len(times) < limit:
            return 0
        free_at = times[-1] + self.window  # when the oldest counted attempt leaves the window
        return max(1, int((free_at - now).total_seconds() + 0.999))

    @staticmethod
    def _who(username: str, ip: str) -> ColumnElement[bool]:
        return (login_attempts.c.username == username[:64]) & (login_attempts.c.ip == ip[:64])
