"""Fixtures layered settings -> services (fakes) -> app -> client. No network, no real models."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.pool import NullPool

from app.accounts import Accounts, Passwords, open_accounts
from app.accounts.db import engine_url
from app.answering.answer import Answerer, AnswerOptions
from app.generation.prompting import Prompts
from app.services import Services
from app.settings import Settings
from ingest.catalog import Catalog
from ingest.pipeline import IngestOptions
from ingest.store import QdrantStore
from tests.fakes import FakeEmbedder, FakeGenerator

os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
# Read before `_isolated_env` clears DOCENT_*: a PostgreSQL database the app-database tests may
# use (.ci/run starts one and sets CI=1, which turns their skip into a failure).
TEST_DATABASE_URL = os.environ.get("DOCENT_TEST_DATABASE_URL", "")
IN_CI = os.environ.get("CI", "") not in ("", "0", "false")
NEEDS = "needs PostgreSQL: set DOCENT_TEST_DATABASE_URL (.ci/postgres.sh starts one)"


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No DOCENT_* variable or .env from the developer's shell leaks into a test."""
    for name in list(os.environ):
        if name.startswith("DOCENT_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DOCENT_DATA_DIR", str(tmp_path / "data"))


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data")


@pytest.fixture
def embedder() -> FakeEmbedder:
    return FakeEmbedder()


@pytest.fixture
def generator() -> FakeGenerator:
    return FakeGenerator()


@pytest.fixture
def store() -> Iterator[QdrantStore]:
    """Real Qdrant, in memory: fast and exact, so no store fake is needed."""
    store = QdrantStore("test", path=None)
    yield store
    store.close()


@pytest.fixture
def catalog(tmp_path: Path) -> Iterator[Catalog]:
    catalog = Catalog(tmp_path / "catalog.sqlite3")
    yield catalog
    catalog.close()


@pytest.fixture
def passwords() -> Passwords:
    """Real argon2id at a low cost, so tests that create many users stay fast."""
    return Passwords(PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


@pytest.fixture
def accounts(settings: Settings, passwords: Passwords) -> Iterator[Accounts]:
    """The app database (SQLite under the test's data dir)."""
    accounts = open_accounts(settings, passwords)
    yield accounts
    accounts.close()


@pytest.fixture
def services(
    embedder: FakeEmbedder,
    store: QdrantStore,
    catalog: Catalog,
    generator: FakeGenerator,
    accounts: Accounts,
) -> Services:
    store.ensure_collection(embedder.dimension)
    answerer = Answerer(
        embedder, store, generator, Prompts(), AnswerOptions(top_k=3), catalog.live_versions
    )
    return Services(
        embedder=embedder,
        store=store,
        catalog=catalog,
        generator=generator,
        answerer=answerer,
        ingest_options=IngestOptions(chunk_tokens=60, chunk_overlap=10),
        model_title="Fake Model",
        accounts=accounts,
    )


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A URL to a fresh, empty schema of the test PostgreSQL (dropped afterwards), in a session
    timezone far from UTC.

    Skips when DOCENT_TEST_DATABASE_URL is unset, except under CI, where it fails.
    """
    if not TEST_DATABASE_URL:
        if IN_CI:
            pytest.fail(f"CI is set but DOCENT_TEST_DATABASE_URL is not: {NEEDS}")
        pytest.skip(NEEDS)
    base = engine_url(TEST_DATABASE_URL)  # psycopg 3 for a plain postgresql:// URL
    schema = f"test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base, poolclass=NullPool)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    # a session timezone far from UTC: times must be stored as naive UTC whatever it is
    options = f"-csearch_path={schema} -ctimezone=Pacific/Auckland"
    url = make_url(base).update_query_dict({"options": options})
    yield url.render_as_string(hide_password=False)
    with admin.begin() as conn:
        conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    admin.dispose()
