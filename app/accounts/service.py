"""`Accounts`: users, groups, API tokens, invites, sessions and the audit log, on one database."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    Connection,
    CursorResult,
    Engine,
    RowMapping,
    delete,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from app.accounts import db
from app.accounts.credentials import (
    API_TOKEN_PREFIX,
    Passwords,
    check_password,
    new_token,
    token_hash,
)
from app.accounts.sessions import LoginThrottle, SessionStore
from app.accounts.user import AccountError, Role, User, check_role, clean_group, clean_username

Actor = User | str | None


@dataclass(frozen=True)
class ApiToken:
    id: int
    user_id: int
    name: str
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None = None  # None: until revoked

    def expired(self, now: datetime) -> bool:
        return self.expires_at is not None and self.expires_at <= now


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: datetime
    actor: str
    action: str
    target: str
    detail: str


@dataclass(frozen=True)
class Policy:
    """Lifetimes and limits (from the settings)."""

    session_lifetime: timedelta = timedelta(hours=12)
    invite_lifetime: timedelta = timedelta(hours=72)
    login_max_failures: int = 5  # per username and address
    login_window: timedelta = timedelta(minutes=15)
    login_max_per_address: int = 20  # any username
    login_max_per_username: int = 50  # any address


class Accounts:
    """The one way the app reads and changes accounts. Build once; share across requests."""

    def __init__(
        self,
        engine: Engine,
        policy: Policy | None = None,
        *,
        passwords: Passwords | None = None,
        clock: Callable[[], datetime] = db.utcnow,
    ) -> None:
        self.engine = engine
        self.policy = policy or Policy()
        self.passwords = passwords or Passwords()
        self.clock = clock
        db.create_all(engine)
        p = self.policy
        self.sessions = SessionStore(engine, p.session_lifetime, clock)
        self.throttle = LoginThrottle(
            engine,
            p.login_max_failures,
            p.login_window,
            clock,
            max_per_address=p.login_max_per_address,
            max_per_username=p.login_max_per_username,
        )

    def close(self) -> None:
        self.engine.dispose()

    # --- users ---------------------------------------------------------------------------------
    def create_user(
        self,
        username: str,
        *,
        password: str | None = None,
        role: str = "member",
        display_name: str = "",
        groups: Iterable[str] = (),
    ) -> User:
        """A new active user; without a password they sign in through an invite link."""
        name = clean_username(username)
        row = {
            "username": name,
            "display_name": display_name.strip()[:200],
            "role": check_role(role),
            "password_hash": self.passwords.hash(check_password(password)) if password else None,
            "active": True,
            "created_at": self.clock(),
        }
        try:
            with self.engine.begin() as conn:
                user_id = _new_id(conn.execute(insert(db.users).values(**row)))
                for group in groups:
                    self._join(conn, user_id, group)
        except IntegrityError as exc:
            raise AccountError(f"a user named {name!r} already exists") from exc
        return self._require(user_id)

    def get_user(self, user_id: int) -> User | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(db.users).where(db.users.c.id == user_id)).mappings().first()
            return self._user(conn, row) if row else None

    def find_user(self, username: str) -> User | None:
        name = username.strip().lower()
        query = select(db.users).where(db.users.c.username == name)
        with self.engine.connect() as conn:
            row = conn.execute(query).mappings().first()
            return self._user(conn, row) if row else None

    def list_users(self) -> list[User]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(db.users).order_by(db.users.c.username)).mappings().all()
            return [self._user(conn, row) for row in rows]

    def has_admin(self) -> bool:
        """True when an active admin exists (else `docent serve` creates the first one)."""
        query = select(func.count()).where(db.users.c.role == "admin", db.users.c.active)
        with self.engine.connect() as conn:
            return bool(conn.execute(query.select_from(db.users)).scalar_one())

    def authenticate(self, username: str, password: str) -> User | None:
        """The active user with this username and password, else None (same cost either way)."""
        query = select(db.users).where(db.users.c.username == username.strip().lower())
        with self.engine.connect() as conn:
            row = conn.execute(query).mappings().first()
        hashed = row["password_hash"] if row else None
        if not self.passwords.verify(hashed, password[:2048]) or row is None or not row["active"]:
            return None
        if hashed and self.passwords.needs_rehash(hashed):
            self._update(row["id"], password_hash=self.passwords.hash(password))
        return self.get_user(row["id"])

    def set_password(self, user_id: int, password: str, *, revoke_tokens: bool = False) -> int:
        """Set a new password, sign the user out of every session and end pending invites (an
        old link must not set the password again after a reset); with `revoke_tokens`, their API
        tokens are revoked too (a reset after a leak). Returns how many tokens were revoked."""
        self._update(user_id, password_hash=self.passwords.hash(check_password(password)))
        self.sessions.end_all(user_id)
        with self.engine.begin() as conn:
            conn.execute(delete(db.invites).where(db.invites.c.user_id == user_id))
        return self.revoke_api_tokens(user_id) if revoke_tokens else 0

    def set_role(self, user_id: int, role: str) -> None:
        self._update(user_id, role=check_role(role))

    def set_display_name(self, user_id: int, display_name: str) -> None:
        self._update(user_id, display_name=display_name.strip()[:200])

    def deactivate(self, user_id: int) -> None:
        """Refuse this user from now on: sessions end, API tokens are revoked (so activating the
        user again does not bring them back)."""
        self._update(user_id, active=False)
        self.sessions.end_all(user_id)
        self.revoke_api_tokens(user_id)

    def activate(self, user_id: int) -> None:
        """Let the user sign in again; API tokens from before (a database where deactivating
        kept them) are revoked: new ones must be issued."""
        was_active = self._require(user_id).active
        self._update(user_id, active=True)
        if not was_active:
            self.revoke_api_tokens(user_id)

    # --- groups --------------------------------------------------------------------------------
    def create_group(self, name: str) -> str:
        """Create a group (no error if it exists); returns its cleaned name."""
        with self.engine.begin() as conn:
            self._group_id(conn, clean_group(name))
        return clean_group(name)

    def list_groups(self) -> list[str]:
        with self.engine.connect() as conn:
            return list(conn.execute(select(db.groups.c.name).order_by(db.groups.c.name)).scalars())

    def add_to_group(self, user_id: int, group: str) -> None:
        """Make the user a member of `group` (created if new)."""
        self._require(user_id)
        with self.engine.begin() as conn:
            self._join(conn, user_id, group)

    def remove_from_group(self, user_id: int, group: str) -> None:
        with self.engine.begin() as conn:
            group_id = conn.execute(
                select(db.groups.c.id).where(db.groups.c.name == group.strip())
            ).scalar()
            conn.execute(
                delete(db.user_groups).where(
                    db.user_groups.c.user_id == user_id, db.user_groups.c.group_id == group_id
                )
            )

    # --- API tokens ----------------------------------------------------------------------------
    def issue_api_token(self, user_id: int, name: str, *, lifetime: timedelta | None = None) -> str:
        """A new bearer token for the user; the plaintext is returned once, only its hash kept.
        With `lifetime` it stops working after that long, else when revoked."""
        self._require(user_id)
        token, now = new_token(API_TOKEN_PREFIX), self.clock()
        row = {
            "user_id": user_id,
            "name": name.strip()[:100] or "token",
            "token_hash": token_hash(token),
            "created_at": now,
            "expires_at": now + lifetime if lifetime is not None else None,
        }
        with self.engine.begin() as conn:
            conn.execute(insert(db.api_tokens).values(**row))
        return token

    def user_for_token(self, token: str) -> User | None:
        """The active user a live API token belongs to (not revoked, not expired), else None;
        the token's last-used time is recorded."""
        if not token.startswith(API_TOKEN_PREFIX):
            return None
        hashed, now = token_hash(token), self.clock()
        query = select(db.api_tokens.c.user_id).where(
            db.api_tokens.c.token_hash == hashed,
            (db.api_tokens.c.expires_at.is_(None)) | (db.api_tokens.c.expires_at > now),
        )
        with self.engine.begin() as conn:
            user_id = conn.execute(query).scalar()
            if user_id is None:
                return None
            conn.execute(
                update(db.api_tokens)
                .where(db.api_tokens.c.token_hash == hashed)
                .values(last_used_at=now)
            )
        user = self.get_user(user_id)
        return user if user and user.active else None

    def list_api_tokens(self, user_id: int) -> list[ApiToken]:
        query = select(db.api_tokens).where(db.api_tokens.c.user_id == user_id)
        with self.engine.connect() as conn:
            rows = conn.execute(query.order_by(db.api_tokens.c.id)).mappings().all()
        keys = ("id", "user_id", "name", "created_at", "last_used_at", "expires_at")
        return [ApiToken(**{k: row[k] for k in keys}) for row in rows]

    def revoke_api_token(self, token_id: int, user_id: int | None = None) -> bool:
        """Revoke (delete) one token, of `user_id` when given; False when there was none."""
        query = delete(db.api_tokens).where(db.api_tokens.c.id == token_id)
        if user_id is not None:
            query = query.where(db.api_tokens.c.user_id == user_id)
        with self.engine.begin() as conn:
            return conn.execute(query).rowcount == 1

    def revoke_api_tokens(self, user_id: int) -> int:
        """Revoke every API token of the user; returns how many there were."""
        query = delete(db.api_tokens).where(db.api_tokens.c.user_id == user_id)
        with self.engine.begin() as conn:
            return int(conn.execute(query).rowcount)

    # --- invites -------------------------------------------------------------------------------
    def invite(self, user_id: int) -> str:
        """A one-time token for the link /invite/{token} where the user sets a password.

        A new invite replaces the user's earlier ones.
        """
        self._require(user_id)
        token, now = new_token(), self.clock()
        row = {
            "token_hash": token_hash(token),
            "user_id": user_id,
            "created_at": now,
            "expires_at": now + self.policy.invite_lifetime,
        }
        with self.engine.begin() as conn:
            conn.execute(delete(db.invites).where(db.invites.c.user_id == user_id))
            conn.execute(insert(db.invites).values(**row))
        return token

    def invited_user(self, token: str) -> User | None:
        """The active user a live invite token is for, else None."""
        query = select(db.invites).where(db.invites.c.token_hash == token_hash(token))
        with self.engine.connect() as conn:
            row = conn.execute(query).mappings().first()
        if row is None or row["expires_at"] <= self.clock():
            return None
        user = self.get_user(row["user_id"])
        return user if user and user.active else None

    def accept_invite(self, token: str, password: str) -> User | None:
        """Set the invited user's password and use the invite up; None if it is not live.

        Raises ValueError when the password is unacceptable (the invite stays usable).
        """
        check_password(password)
        user = self.invited_user(token)
        if user is None:
            return None
        with self.engine.begin() as conn:
            used = conn.execute(
                delete(db.invites).where(db.invites.c.token_hash == token_hash(token))
            )
            if used.rowcount != 1:  # a concurrent request used it first
                return None
        self.set_password(user.id, password)
        return user

    # --- audit log -----------------------------------------------------------------------------
    def audit(self, actor: Actor, action: str, target: str = "", detail: str = "") -> None:
        """Record an admin action (who, what, on what, details)."""
        who = actor.username if isinstance(actor, User) else (actor or "system")
        row = {
            "at": self.clock(),
            "actor": who[:64],
            "action": action[:64],
            "target": target[:255],
            "detail": detail,
        }
        with self.engine.begin() as conn:
            conn.execute(insert(db.audit_log).values(**row))

    def audit_entries(self, limit: int = 200, offset: int = 0) -> list[AuditEntry]:
        """Newest first."""
        query = select(db.audit_log).order_by(db.audit_log.c.id.desc()).limit(limit).offset(offset)
        with self.engine.connect() as conn:
            rows = conn.execute(query).mappings().all()
        return [AuditEntry(**dict(row)) for row in rows]

    # --- internals -----------------------------------------------------------------------------
    def _require(self, user_id: int) -> User:
        user = self.get_user(user_id)
        if user is None:
            raise AccountError(f"no user with id {user_id}")
        return user

    def _update(self, user_id: int, **values: Any) -> None:
        with self.engine.begin() as conn:
            done = conn.execute(update(db.users).where(db.users.c.id == user_id).values(**values))
        if done.rowcount != 1:
            raise AccountError(f"no user with id {user_id}")

    def _user(self, conn: Connection, row: RowMapping) -> User:
        query = (
            select(db.groups.c.name)
            .join(db.user_groups, db.user_groups.c.group_id == db.groups.c.id)
            .where(db.user_groups.c.user_id == row["id"])
        )
        role: Role = check_role(row["role"])
        return User(
            id=row["id"],
            username=row["username"],
            display_name=row["display_name"],
            role=role,
            groups=frozenset(conn.execute(query).scalars()),
            active=bool(row["active"]),
        )

    def _group_id(self, conn: Connection, name: str) -> int:
        found = conn.execute(select(db.groups.c.id).where(db.groups.c.name == name)).scalar()
        if found is not None:
            return int(found)
        row = {"name": name, "created_at": self.clock()}
        return _new_id(conn.execute(insert(db.groups).values(**row)))

    def _join(self, conn: Connection, user_id: int, group: str) -> None:
        group_id = self._group_id(conn, clean_group(group))
        exists = conn.execute(
            select(db.user_groups).where(
                db.user_groups.c.user_id == user_id, db.user_groups.c.group_id == group_id
            )
        ).first()
        if exists is None:
            conn.execute(insert(db.user_groups).values(user_id=user_id, group_id=group_id))


def _new_id(result: CursorResult[Any]) -> int:
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])
