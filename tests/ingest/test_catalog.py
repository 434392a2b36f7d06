"""The SQLite catalog: one row per source file."""

from __future__ import annotations

from pathlib import Path

from ingest.catalog import Catalog


def test_record_ok_then_get(catalog: Catalog) -> None:
    catalog.record_ok("doc-1", "/docs/a.md", "A", "hash-a", "pipe-1", 3)

    record = catalog.get("doc-1")

    assert record is not None
    assert (record.doc_id, record.source, record.title) == ("doc-1", "/docs/a.md", "A")
    assert (record.content_hash, record.pipeline, record.chunk_count) == ("hash-a", "pipe-1", 3)
    assert (record.status, record.error) == ("ok", None)
    assert record.updated_at


def test_unknown_document_is_none(catalog: Catalog) -> None:
    assert catalog.get("nope") is None
    assert catalog.all() == []


def test_record_failed_on_new_document(catalog: Catalog) -> None:
    catalog.record_failed("doc-1", "/docs/a.pdf", "no text found")

    record = catalog.get("doc-1")

    assert record is not None
    assert (record.status, record.error) == ("failed", "no text found")
    assert record.source == "/docs/a.pdf"
    assert record.chunk_count == 0


def test_record_failed_after_ok_keeps_the_good_version(catalog: Catalog) -> None:
    catalog.record_ok("doc-1", "/docs/a.md", "A", "hash-a", "pipe-1", 3)

    catalog.record_failed("doc-1", "/docs/a.md", "empty file (0 bytes)")

    record = catalog.get("doc-1")
    assert record is not None
    assert record.status == "ok"
    assert record.error == "empty file (0 bytes)"
    assert (record.title, record.content_hash, record.chunk_count) == ("A", "hash-a", 3)


def test_record_ok_after_failure_clears_the_error(catalog: Catalog) -> None:
    catalog.record_failed("doc-1", "/docs/a.md", "boom")
    catalog.record_ok("doc-1", "/docs/a.md", "A", "hash-a", "pipe-1", 2)

    record = catalog.get("doc-1")

    assert record is not None
    assert (record.status, record.error, record.chunk_count) == ("ok", None, 2)
    assert len(catalog.all()) == 1


def test_all_is_sorted_by_source(catalog: Catalog) -> None:
    catalog.record_ok("id-1", "/docs/c.md", "C", "h", "p", 1)
    catalog.record_failed("id-2", "/docs/a.md", "bad")
    catalog.record_ok("id-3", "/docs/b.md", "B", "h", "p", 1)

    assert [r.source for r in catalog.all()] == ["/docs/a.md", "/docs/b.md", "/docs/c.md"]
    assert [r.doc_id for r in catalog.all()] == ["id-2", "id-3", "id-1"]


def test_survives_reopening_the_same_file(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "catalog.sqlite3"
    first = Catalog(path)
    first.record_ok("doc-1", "/docs/a.md", "A", "hash-a", "pipe-1", 3)
    first.record_failed("doc-2", "/docs/b.pdf", "no text")
    before = first.all()
    first.close()

    second = Catalog(path)
    try:
        assert second.all() == before
        record = second.get("doc-1")
        assert record is not None and record.chunk_count == 3
    finally:
        second.close()
