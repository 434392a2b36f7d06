"""What differs between SQLite and PostgreSQL, checked on both: NUL characters, timezone-aware
datetimes, values longer than a column, several workers creating the tables at once, URLs."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, inspect

from app.accounts import Accounts, Passwords
from app.accounts.db import create_all, engine_url, make_engine, metadata
from app.conversations.store import Conversations
from tests.app.conversations.test_conversations import Clock, make_answer
from tests.app.on_postgres import pg_accounts
from tests.app.signin import add_user

__all__ = ["pg_accounts"]  # a fixture used through `either`


@pytest.fixture(params=["sqlite", "postgresql"])
def either(request: pytest.FixtureRequest, accounts: Accounts) -> Accounts:
    """The app database on each engine (PostgreSQL: skipped without one, failed under CI)."""
    if request.param == "sqlite":
        return accounts
    pg: Accounts = request.getfixturevalue("pg_accounts")
    return pg


def test_nul_characters_are_stored_as_replacement_characters(either: Accounts) -> None:
    alice = either.create_user("alice", password="long enough", display_name="Al\x00ice")
    assert alice.display_name == "Al\ufffdice"
    either.audit(alice, "nul.test", target="t\x00", detail="d\x00")
    assert [(e.target, e.detail) for e in either.audit_entries()] == [("t\ufffd", "d\ufffd")]
    chats = Conversations(either.engine)
    chat = chats.start(alice.id, "Leave\x00?")
    asked = replace(make_answer("How\x00 much leave?"), text="Twenty\x00 days [1].")
    message = chats.record(alice.id, chat.id, asked)
    assert message is not None
    assert (message.question, message.answer_text) == (
        "How\ufffd much leave?",
        "Twenty\ufffd days [1].",
    )
    assert message.answer.text == "Twenty\x00 days [1]."  # inside JSON it is escaped: kept
    rated = chats.rate(alice.id, message.id, "down", "bad\x00")
    assert rated is not None and rated.feedback is not None
    assert rated.feedback.comment == "bad\ufffd"


def test_aware_datetimes_compare_as_utc(either: Accounts) -> None:
    clock = Clock(datetime(2026, 3, 2, 9, 0))  # naive UTC, as stored
    chats = Conversations(either.engine, clock=clock)
    alice = add_user(either, "alice")
    message = chats.record(alice.id, chats.start(alice.id, "q").id, make_answer("q"))
    assert message is not None and chats.rate(alice.id, message.id, "up") is not None
    before, after = datetime(2026, 3, 2, 8, 30, tzinfo=UTC), datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
    assert chats.feedback_counts(since=before) == {"up": 1, "down": 0}
    assert chats.feedback_counts(since=after) == {"up": 0, "down": 0}
    aware = Accounts(either.engine, clock=lambda: datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    aware.audit("cli", "aware.test")
    assert [e.at for e in either.audit_entries()] == [datetime(2026, 3, 2, 9, 0)]


def test_values_longer_than_their_column_are_cut_not_refused(either: Accounts) -> None:
    """PostgreSQL refuses a value longer than its VARCHAR; SQLite would keep it whole."""
    alice = either.create_user(
        "alice", password="long enough", display_name="d" * 500, groups=["g" * 100]
    )
    assert len(alice.display_name) == 200 and alice.groups == {"g" * 100}
    either.issue_api_token(alice.id, "n" * 500)
    assert len(either.list_api_tokens(alice.id)[0].name) == 100
    either.audit("a" * 100, "b" * 100, "c" * 500, "d" * 10_000)
    entry = either.audit_entries()[0]
    assert (len(entry.actor), len(entry.action), len(entry.target)) == (64, 64, 255)
    address = "2001:db8::1%" + "x" * 100  # a long address, e.g. from a proxy's header
    for _ in range(either.policy.login_max_failures):
        either.throttle.failed("alice", address)
    assert either.throttle.retry_after("alice", address) > 0


def _table_names(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names())


def test_workers_starting_together_create_the_tables_once(
    postgres_url: str, passwords: Passwords
) -> None:
    """Several app workers on one fresh PostgreSQL database, all creating the tables at once."""
    engines = [make_engine(postgres_url) for _ in range(4)]
    start, errors = threading.Barrier(len(engines)), []

    def worker(engine: Engine) -> None:
        start.wait()
        try:
            create_all(engine)
        except Exception as exc:  # the test reports what a worker ran into
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(e,)) for e in engines]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    try:
        assert errors == []
        assert _table_names(engines[0]) == set(metadata.tables)
        accounts = Accounts(engines[0], passwords=passwords)
        assert accounts.create_user("alice", password="long enough").id == 1
    finally:
        for engine in engines:
            engine.dispose()


def test_postgresql_urls_use_psycopg_3() -> None:
    assert engine_url("postgresql://u:p@db/docent") == "postgresql+psycopg://u:p@db/docent"
    assert engine_url("postgres://u@db:5433/docent") == "postgresql+psycopg://u@db:5433/docent"
    kept = ["postgresql+psycopg://u@db/docent", "sqlite:///data/docent.db", "sqlite://"]
    assert [engine_url(url) for url in kept] == kept
    assert make_engine("postgresql://u@db/docent").dialect.driver == "psycopg"
