"""The Accounts service on a real SQLite database: passwords, sessions, tokens, invites, groups."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, text

from app.accounts import AccountError, Accounts, Passwords, Policy, open_accounts
from app.accounts.bootstrap import create_first_admin
from app.accounts.db import api_tokens, make_engine, sessions, users
from app.settings import Settings
from ingest.access import Access


class Clock:
    """A settable clock for expiry tests."""

    def __init__(self) -> None:
        self.now = datetime(2026, 1, 5, 9, 0, 0)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def timed(tmp_path: Path, passwords: Passwords, clock: Clock) -> Accounts:
    policy = Policy(session_lifetime=timedelta(hours=2), invite_lifetime=timedelta(hours=1))
    engine = make_engine(f"sqlite:///{tmp_path / 'timed.db'}")
    return Accounts(engine, policy, passwords=passwords, clock=clock)


def test_passwords_are_stored_as_argon2id_hashes_and_verify(accounts: Accounts) -> None:
    user = accounts.create_user("alice", password="correct horse battery")
    with accounts.engine.connect() as conn:
        stored = conn.execute(select(users.c.password_hash)).scalar_one()
    assert stored.startswith("$argon2id$")
    assert "correct horse battery" not in stored
    assert accounts.authenticate("alice", "correct horse battery") == user
    assert accounts.authenticate("ALICE ", "correct horse battery") == user  # names ignore case


def test_the_default_hasher_uses_the_recommended_cost() -> None:
    hashed = Passwords().hash("correct horse battery")
    assert hashed.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert Passwords().verify(hashed, "correct horse battery")


def test_wrong_password_and_unknown_user_are_refused(accounts: Accounts) -> None:
    accounts.create_user("alice", password="correct horse battery")
    assert accounts.authenticate("alice", "wrong horse battery") is None
    assert accounts.authenticate("bob", "correct horse battery") is None
    assert accounts.authenticate("alice", "") is None


def test_a_user_without_a_password_cannot_sign_in(accounts: Accounts) -> None:
    accounts.create_user("invited")
    assert accounts.authenticate("invited", "") is None
    assert accounts.authenticate("invited", "anything-at-all") is None


def test_bad_input_gets_a_clear_error_and_changes_nothing(accounts: Accounts) -> None:
    with pytest.raises(AccountError, match="invalid username"):
        accounts.create_user("no spaces allowed", password="long enough")
    with pytest.raises(ValueError, match="at least 8 characters"):
        accounts.create_user("shorty", password="short")
    with pytest.raises(AccountError, match="unknown role"):
        accounts.create_user("carol", password="long enough", role="owner")
    accounts.create_user("alice", password="long enough")
    with pytest.raises(AccountError, match="already exists"):
        accounts.create_user("Alice", password="long enough")
    assert [u.username for u in accounts.list_users()] == ["alice"]


def test_groups_map_to_access(accounts: Accounts) -> None:
    member = accounts.create_user("bob", password="long enough", groups=["hr", "finance"])
    admin = accounts.create_user("root", password="long enough", role="admin")
    assert member.access == Access.member_of({"hr", "finance"})
    assert member.access.allows(["hr"]) and member.access.allows([])
    assert not member.access.allows(["legal"])
    assert admin.access.allows(["legal"])
    accounts.remove_from_group(member.id, "finance")
    accounts.add_to_group(member.id, "legal")
    changed = accounts.get_user(member.id)
    assert changed is not None and changed.groups == frozenset({"hr", "legal"})
    assert accounts.list_groups() == ["finance", "hr", "legal"]


def test_sessions_expire(timed: Accounts, clock: Clock) -> None:
    user = timed.create_user("alice", password="long enough")
    session = timed.sessions.start(user.id)
    assert timed.sessions.get(session.token) == session
    clock.advance(hours=1, minutes=59)
    assert timed.sessions.get(session.token) is not None
    clock.advance(minutes=2)
    assert timed.sessions.get(session.token) is None


def test_the_database_keeps_only_hashes_of_session_and_api_tokens(accounts: Accounts) -> None:
    user = accounts.create_user("alice", password="long enough")
    session = accounts.sessions.start(user.id)
    token = accounts.issue_api_token(user.id, "laptop")
    with accounts.engine.connect() as conn:
        stored = [*conn.execute(select(sessions.c.token_hash)).scalars()]
        stored += [*conn.execute(select(api_tokens.c.token_hash)).scalars()]
    assert session.token not in stored and token not in stored
    assert all(len(value) == 64 for value in stored)


def test_api_tokens_identify_their_user_until_revoked_or_deactivated(accounts: Accounts) -> None:
    user = accounts.create_user("alice", password="long enough")
    token = accounts.issue_api_token(user.id, "laptop")
    assert token.startswith("dct_") and len(token) > 40
    assert accounts.user_for_token(token) == user
    assert accounts.user_for_token(token + "x") is None
    assert accounts.user_for_token("not-a-token") is None
    listed = accounts.list_api_tokens(user.id)
    assert [t.name for t in listed] == ["laptop"] and listed[0].last_used_at is not None
    accounts.revoke_api_token(listed[0].id)
    assert accounts.user_for_token(token) is None
    second = accounts.issue_api_token(user.id, "ci")
    accounts.deactivate(user.id)
    assert accounts.user_for_token(second) is None


def test_api_tokens_stay_dead_when_a_deactivated_user_is_activated_again(
    accounts: Accounts,
) -> None:
    """Issue #15, finding 5: deactivating only hid the tokens; activating brought them back."""
    user = accounts.create_user("alice", password="long enough")
    token = accounts.issue_api_token(user.id, "laptop")
    accounts.deactivate(user.id)
    accounts.activate(user.id)
    assert accounts.user_for_token(token) is None
    assert accounts.list_api_tokens(user.id) == []


def test_api_tokens_expire_and_record_their_last_use(timed: Accounts, clock: Clock) -> None:
    user = timed.create_user("alice", password="long enough")
    short = timed.issue_api_token(user.id, "ci", lifetime=timedelta(days=1))
    forever = timed.issue_api_token(user.id, "laptop")
    clock.advance(hours=23)
    assert timed.user_for_token(short) == user
    used = {t.name: t.last_used_at for t in timed.list_api_tokens(user.id)}
    assert used == {"ci": clock.now, "laptop": None}
    clock.advance(hours=1)
    assert timed.user_for_token(short) is None  # expired
    assert timed.user_for_token(forever) == user
    listed = {t.name: t.expired(clock.now) for t in timed.list_api_tokens(user.id)}
    assert listed == {"ci": True, "laptop": False}


def test_a_password_reset_can_revoke_the_api_tokens(accounts: Accounts) -> None:
    user = accounts.create_user("alice", password="long enough")
    kept = accounts.issue_api_token(user.id, "laptop")
    assert accounts.set_password(user.id, "a new password") == 0
    assert accounts.user_for_token(kept) == user
    assert accounts.set_password(user.id, "another password", revoke_tokens=True) == 1
    assert accounts.user_for_token(kept) is None


def test_a_database_from_before_token_expiry_gains_the_column(accounts: Accounts) -> None:
    """The app database of an older docent has api_tokens without expires_at: opening it adds
    the column (ALTER TABLE, on SQLite and PostgreSQL) and its tokens keep working."""
    user = accounts.create_user("alice", password="long enough")
    token = accounts.issue_api_token(user.id, "old")
    with accounts.engine.begin() as conn:
        conn.execute(text("ALTER TABLE api_tokens DROP COLUMN expires_at"))
    reopened = Accounts(accounts.engine, passwords=accounts.passwords)
    assert reopened.user_for_token(token) == user
    assert [t.expires_at for t in reopened.list_api_tokens(user.id)] == [None]
    assert reopened.issue_api_token(user.id, "new", lifetime=timedelta(days=1))


def test_deactivated_users_are_refused_and_signed_out(accounts: Accounts) -> None:
    user = accounts.create_user("alice", password="long enough")
    session = accounts.sessions.start(user.id)
    accounts.deactivate(user.id)
    assert accounts.authenticate("alice", "long enough") is None
    assert accounts.sessions.get(session.token) is None


def test_a_new_password_ends_every_session(accounts: Accounts) -> None:
    user = accounts.create_user("alice", password="long enough")
    session = accounts.sessions.start(user.id)
    accounts.set_password(user.id, "a new password")
    assert accounts.sessions.get(session.token) is None
    assert accounts.authenticate("alice", "long enough") is None
    assert accounts.authenticate("alice", "a new password") is not None


def test_an_invite_works_once_and_expires(timed: Accounts, clock: Clock) -> None:
    user = timed.create_user("newcomer")
    token = timed.invite(user.id)
    assert timed.invited_user(token) == user
    with pytest.raises(ValueError, match="at least 8"):
        timed.accept_invite(token, "short")
    assert timed.invited_user(token) == user  # a refused password does not use the invite up
    assert timed.accept_invite(token, "my own password") == user
    assert timed.authenticate("newcomer", "my own password") == user
    assert timed.accept_invite(token, "taken over!!") is None
    assert timed.authenticate("newcomer", "taken over!!") is None

    late = timed.invite(user.id)
    clock.advance(hours=1, seconds=1)
    assert timed.invited_user(late) is None
    assert timed.accept_invite(late, "too late now") is None


def test_a_new_invite_replaces_the_old_one(accounts: Accounts) -> None:
    user = accounts.create_user("newcomer")
    first = accounts.invite(user.id)
    second = accounts.invite(user.id)
    assert accounts.invited_user(first) is None
    assert accounts.invited_user(second) == user


def test_setting_or_resetting_a_password_ends_pending_invites(accounts: Accounts) -> None:
    """Issue #15, finding 6: an invite sent before a password reset could still set the
    password afterwards (and take the account over from whoever held the old link)."""
    user = accounts.create_user("newcomer")
    token = accounts.invite(user.id)
    accounts.set_password(user.id, "set by an admin")
    assert accounts.invited_user(token) is None
    assert accounts.accept_invite(token, "taken over!!") is None
    assert accounts.authenticate("newcomer", "set by an admin") == user


def test_login_throttle_counts_failures_per_username_and_address(
    timed: Accounts, clock: Clock
) -> None:
    throttle = timed.throttle  # 5 failures per 15 minutes (the defaults)
    for _ in range(4):
        throttle.failed("alice", "10.0.0.1")
        clock.advance(minutes=1)
    assert throttle.retry_after("alice", "10.0.0.1") == 0
    throttle.failed("alice", "10.0.0.1")
    assert throttle.retry_after("alice", "10.0.0.1") == 11 * 60  # the first leaves at 15 min
    assert throttle.retry_after("alice", "10.0.0.2") == 0  # another address
    assert throttle.retry_after("bob", "10.0.0.1") == 0  # another account
    clock.advance(minutes=11)
    assert throttle.retry_after("alice", "10.0.0.1") == 0
    throttle.succeeded("alice", "10.0.0.1")
    throttle.failed("alice", "10.0.0.1")
    assert throttle.retry_after("alice", "10.0.0.1") == 0


def test_sign_in_attempts_are_counted_before_verifying_with_three_limits(
    timed: Accounts, clock: Clock
) -> None:
    """`attempt` counts an attempt (or refuses it) in one step: 5 per username and address,
    20 per address, 50 per username (the defaults), in parallel too."""
    throttle = timed.throttle
    with ThreadPoolExecutor(max_workers=8) as pool:
        waits = list(pool.map(lambda _: throttle.attempt("alice", "10.0.0.1"), range(8)))
    assert sorted(waits) == [0] * 5 + [15 * 60] * 3  # refused attempts are not counted
    assert throttle.attempt("alice", "10.0.0.2") == 0  # another address
    for n in range(15):
        assert throttle.attempt(f"name{n}", "10.0.0.1") == 0
    assert throttle.attempt("nobody", "10.0.0.1") > 0  # 20 from this address
    for n in range(3, 47):
        assert throttle.attempt("alice", f"10.0.1.{n}") == 0
    assert throttle.attempt("alice", "10.0.9.9") > 0  # 50 for this username
    clock.advance(minutes=15)
    assert throttle.attempt("alice", "10.0.9.9") == 0
    throttle.succeeded("alice", "10.0.9.9")
    assert throttle.retry_after("alice", "10.0.9.9") == 0


def test_audit_log_keeps_admin_actions_newest_first(accounts: Accounts) -> None:
    admin = accounts.create_user("root", password="long enough", role="admin")
    accounts.audit(admin, "add-user", "alice", "role=member")
    accounts.audit("cli", "deactivate", "alice")
    entries = accounts.audit_entries()
    assert [(e.actor, e.action, e.target) for e in entries] == [
        ("cli", "deactivate", "alice"),
        ("root", "add-user", "alice"),
    ]
    assert entries[1].detail == "role=member"


def test_first_admin_is_created_once(accounts: Accounts) -> None:
    created = create_first_admin(accounts)
    assert created is not None
    admin, password = created
    assert admin.username == "admin" and admin.is_admin
    assert accounts.authenticate("admin", password) == admin
    assert create_first_admin(accounts) is None
    assert accounts.audit_entries()[0].action == "add-user"


def test_first_admin_avoids_a_taken_name(accounts: Accounts) -> None:
    accounts.create_user("admin", password="long enough")  # a member called admin
    created = create_first_admin(accounts)
    assert created is not None and created[0].username == "admin2"


def test_settings_choose_the_database(tmp_path: Path, passwords: Passwords) -> None:
    settings = Settings(data_dir=tmp_path / "d")
    assert settings.database_url == f"sqlite:///{tmp_path / 'd' / 'docent.db'}"
    other = Settings(data_dir=tmp_path / "d", database_url=f"sqlite:///{tmp_path / 'x.db'}")
    accounts = open_accounts(other, passwords)
    try:
        accounts.create_user("alice", password="long enough")
    finally:
        accounts.close()
    assert (tmp_path / "x.db").is_file()
    reopened = open_accounts(other, passwords)  # tables exist: created only if missing
    try:
        assert [u.username for u in reopened.list_users()] == ["alice"]
    finally:
        reopened.close()
