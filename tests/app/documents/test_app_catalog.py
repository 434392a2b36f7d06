"""The document catalog in the app database: the library catalog's scenarios
(tests/ingest/test_catalog.py) on it; DATA_DIR moved to another place keeps its documents;
a source tree moved elsewhere is recognised by content (nothing embedded again); the SQLite
catalog an older docent kept is imported once. (test_postgres_app_catalog.py runs these on
PostgreSQL.)"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.accounts import Accounts
from app.documents.catalog import IMPORTED, DatabaseCatalog
from app.services import open_catalog
from app.settings import Settings
from ingest.catalog import Catalog
from ingest.pipeline import IngestOptions, IngestResult, ingest_paths
from ingest.store import QdrantStore
from tests.fakes import FakeEmbedder
from tests.ingest import test_catalog as scenarios

globals().update(
    {
        name: test
        for name, test in vars(scenarios).items()
        if name.startswith("test_") and name != "test_survives_reopening_the_same_file"
    }
)
ok = scenarios.ok
OPTIONS = IngestOptions(chunk_tokens=60, chunk_overlap=10)


@pytest.fixture
def catalog(accounts: Accounts, settings: Settings) -> Iterator[DatabaseCatalog]:
    yield DatabaseCatalog(accounts.engine, settings.data_dir)


def test_survives_another_process_opening_it(accounts: Accounts, settings: Settings) -> None:
    first = DatabaseCatalog(accounts.engine, settings.data_dir)
    first.record_ok(ok("doc-1", "/docs/a.md", "A", "hash-a", "pipe-1", 3))
    first.record_failed("doc-2", "/docs/b.pdf", "no text")
    assert DatabaseCatalog(accounts.engine, settings.data_dir).all() == first.all()


def test_a_moved_data_dir_keeps_its_documents_by_path(accounts: Accounts, tmp_path: Path) -> None:
    here = tmp_path / "here"
    upload = here / "uploads" / "leave.md"
    DatabaseCatalog(accounts.engine, here).record_ok(
        ok("doc-1", str(upload), "Leave", "hash-a", "pipe-1", 2)
    )
    there = tmp_path / "there"  # DATA_DIR moved, or mounted elsewhere on another machine
    moved = DatabaseCatalog(accounts.engine, there)
    (record,) = moved.all()
    assert record.source == str(there / "uploads" / "leave.md")
    assert moved.get_by_source(str(there / "uploads" / "leave.md")) == record
    assert moved.get_by_source(str(upload)) is None


def _ingest(
    folder: Path, store: QdrantStore, catalog: DatabaseCatalog, embedder: FakeEmbedder
) -> list[IngestResult]:
    return ingest_paths([folder], embedder=embedder, store=store, catalog=catalog, options=OPTIONS)


def test_a_source_tree_moved_elsewhere_is_recognised_by_content(
    catalog: DatabaseCatalog, store: QdrantStore, embedder: FakeEmbedder, tmp_path: Path
) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "leave.md").write_text("# Leave\n\nTwenty eight days of annual leave.\n")
    (docs / "canteen.md").write_text("# Canteen\n\nThe canteen opens at noon.\n")
    assert {r.status for r in _ingest(docs, store, catalog, embedder)} == {"new"}
    embedded = len(embedder.embedded_texts)
    moved = tmp_path / "elsewhere" / "docs"
    moved.parent.mkdir()
    shutil.move(docs, moved)
    assert {r.status for r in _ingest(moved, store, catalog, embedder)} == {"moved"}
    assert len(embedder.embedded_texts) == embedded  # nothing embedded again
    assert sorted(r.source for r in catalog.all()) == sorted(
        str(p.resolve()) for p in moved.iterdir()
    )


def test_an_older_sqlite_catalog_is_imported_once(accounts: Accounts, settings: Settings) -> None:
    old = Catalog(settings.catalog_path)
    old.record_ok(ok("doc-1", str(settings.data_dir / "uploads" / "a.md"), "A", "h", "p", 3))
    old.record_failed("doc-2", "/docs/b.pdf", "no text")
    before = old.all()
    old.close()
    catalog = open_catalog(settings, accounts.engine)
    assert catalog.all() == before  # the same rows, times and all
    assert not settings.catalog_path.exists()
    assert settings.catalog_path.with_name(settings.catalog_path.name + IMPORTED).is_file()
    catalog.remove("doc-2")
    assert len(open_catalog(settings, accounts.engine).all()) == 1  # read once, not again


def test_workers_starting_together_import_the_old_catalog_once(
    accounts: Accounts, settings: Settings
) -> None:
    old = Catalog(settings.catalog_path)
    for n in range(20):
        old.record_ok(ok(f"doc-{n}", f"/docs/{n}.md", "T", f"h{n}", "p", 1))
    old.close()
    counts: list[int] = []

    def start() -> None:  # what each app worker does at start
        counts.append(
            DatabaseCatalog(accounts.engine, settings.data_dir).import_sqlite(settings.catalog_path)
        )

    threads = [threading.Thread(target=start) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(counts) == [0, 0, 0, 20]
    kept = Catalog(settings.catalog_path.with_name(settings.catalog_path.name + IMPORTED))
    assert len(kept.all()) == 20  # the old file, renamed whole (not an empty one in its place)
    kept.close()
