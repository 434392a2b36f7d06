"""Tags, file types and dates: stored with each chunk and in the catalog, searchable by filter."""

from __future__ import annotations

import os
import sqlite3
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from ingest.access import Access
from ingest.catalog import Catalog
from ingest.pipeline import IngestOptions, IngestResult, ingest_paths
from ingest.sparse import encode_query
from ingest.store import QdrantStore
from ingest.types import SearchFilters
from tests.fakes import FakeEmbedder

OPTIONS = IngestOptions(chunk_tokens=40, chunk_overlap=5)
MARCH = datetime(2024, 3, 15, 9, 0, tzinfo=UTC)


def _docs(root: Path) -> Path:
    docs = root / "docs"
    docs.mkdir()
    (docs / "leave.md").write_text("# Leave\n\nEveryone gets twenty eight days of annual leave.\n")
    (docs / "travel.txt").write_text("Travel. The hotel cap in London is 240 EUR per night.\n")
    os.utime(docs / "leave.md", (MARCH.timestamp(), MARCH.timestamp()))
    return docs


def _run(
    paths: list[Path],
    embedder: FakeEmbedder,
    store: QdrantStore,
    catalog: Catalog,
    options: IngestOptions = OPTIONS,
) -> dict[str, IngestResult]:
    results = ingest_paths(paths, embedder=embedder, store=store, catalog=catalog, options=options)
    return {Path(r.source).name: r for r in results}


def _found(store: QdrantStore, embedder: FakeEmbedder, filters: SearchFilters) -> set[str]:
    question = "annual leave hotel cap London"
    found = store.search(
        embedder.embed([question])[0],
        encode_query(question),
        20,
        access=Access.admin(),
        filters=filters,
    )
    return {Path(p.source).name for p in found}


def test_tags_types_and_dates_are_searchable(
    tmp_path: Path, embedder: FakeEmbedder, store: QdrantStore, catalog: Catalog
) -> None:
    docs = _docs(tmp_path)
    before = datetime.now(UTC) - timedelta(seconds=1)
    _run([docs / "leave.md"], embedder, store, catalog, replace(OPTIONS, tags=("hr", "policy")))
    _run([docs / "travel.txt"], embedder, store, catalog, replace(OPTIONS, tags=("travel",)))

    leave = catalog.get_by_source(str((docs / "leave.md").resolve()))
    assert leave is not None and leave.tags == ("hr", "policy")
    assert _found(store, embedder, SearchFilters(tags=("policy",))) == {"leave.md"}
    assert _found(store, embedder, SearchFilters(tags=("travel", "hr"))) == {
        "leave.md",
        "travel.txt",
    }
    assert _found(store, embedder, SearchFilters(file_types=("txt",))) == {"travel.txt"}
    # leave.md was last modified in March 2024; travel.txt just now
    assert _found(store, embedder, SearchFilters(modified_before=MARCH + timedelta(days=1))) == {
        "leave.md"
    }
    assert _found(store, embedder, SearchFilters(modified_since=before)) == {"travel.txt"}
    assert _found(store, embedder, SearchFilters(ingested_since=before)) == {
        "leave.md",
        "travel.txt",
    }
    assert _found(store, embedder, SearchFilters(ingested_before=before)) == set()


def test_changing_tags_updates_the_payload_without_embedding(
    tmp_path: Path, embedder: FakeEmbedder, store: QdrantStore, catalog: Catalog
) -> None:
    docs = _docs(tmp_path)
    _run([docs], embedder, store, catalog, replace(OPTIONS, tags=("old",)))
    embedded = len(embedder.embedded_texts)

    result = _run([docs], embedder, store, catalog, replace(OPTIONS, tags=("new",)))

    assert {r.status for r in result.values()} == {"updated"}
    assert len(embedder.embedded_texts) == embedded
    assert {r.tags for r in catalog.all()} == {("new",)}
    assert _found(store, embedder, SearchFilters(tags=("old",))) == set()
    assert _found(store, embedder, SearchFilters(tags=("new",))) == {"leave.md", "travel.txt"}
    same = _run([docs], embedder, store, catalog, replace(OPTIONS, tags=("new",)))
    assert {r.status for r in same.values()} == {"unchanged"}


def test_changing_groups_keeps_tags_given_again(
    tmp_path: Path, embedder: FakeEmbedder, store: QdrantStore, catalog: Catalog
) -> None:
    docs = _docs(tmp_path)
    _run([docs], embedder, store, catalog, replace(OPTIONS, tags=("kept",)))
    _run([docs], embedder, store, catalog, replace(OPTIONS, groups=("hr",), tags=("kept",)))

    assert {(r.groups, r.tags) for r in catalog.all()} == {(("hr",), ("kept",))}
    assert _found(store, embedder, SearchFilters(tags=("kept",))) == {"leave.md", "travel.txt"}


def test_a_catalog_from_before_tags_gets_the_column(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    old = sqlite3.connect(path)
    old.executescript(
        "CREATE TABLE documents (doc_id TEXT PRIMARY KEY, source TEXT NOT NULL UNIQUE,"
        " title TEXT NOT NULL DEFAULT '', content_hash TEXT NOT NULL DEFAULT '',"
        " version TEXT NOT NULL DEFAULT '', pipeline TEXT NOT NULL DEFAULT '',"
        " chunk_count INTEGER NOT NULL DEFAULT 0, pages INTEGER,"
        " groups TEXT NOT NULL DEFAULT '[]', status TEXT NOT NULL, error TEXT,"
        " cleanup_pending INTEGER NOT NULL DEFAULT 0, created_at TEXT NOT NULL,"
        " updated_at TEXT NOT NULL);"
        "INSERT INTO documents (doc_id, source, version, status, created_at, updated_at)"
        " VALUES ('d1', '/docs/a.md', 'v1', 'ok', 'then', 'then');"
    )
    old.commit()
    old.close()

    catalog = Catalog(path)
    try:
        record = catalog.get("d1")
        assert record is not None and record.tags == () and record.version == "v1"
    finally:
        catalog.close()
    again = Catalog(path)  # opening again changes nothing
    try:
        assert again.get("d1") is not None
    finally:
        again.close()
