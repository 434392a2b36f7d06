"""The SQLite catalog: one row per source file."""

from __future__ import annotations

from pathlib import Path

from ingest.catalog import Catalog, OkRecord


def ok(
    doc_id: str, source: str, title: str, content_hash: str, pipeline: str, chunks: int
) -> OkRecord:
    return OkRecord(
        doc_id, source, title, content_hash, f"v-{content_hash}", pipeline, chunks, None, ()
    )


def test_record_ok_then_get(catalog: Catalog) -> None:
    catalog.record_ok(ok("doc-1", "/docs/a.md", "A", "hash-a", "pipe-1", 3))

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
    catalog.record_ok(ok("doc-1", "/docs/a.md", "A", "hash-a", "pipe-1", 3))

    catalog.record_failed("doc-1", "/docs/a.md", "empty file (0 bytes)")

    record = catalog.get("doc-1")
    assert record is not None
    assert record.status == "ok"
    assert record.error == "empty file (0 bytes)"
    assert (record.title, record.content_hash, record.chunk_count) == ("A", "hash-a", 3)


def test_record_ok_after_failure_clears_the_error(catalog: Catalog) -> None:
    catalog.record_failed("doc-1", "/docs/a.md", "boom")
    catalog.record_ok(ok("doc-1", "/docs/a.md", "A", "hash-a", "pipe-1", 2))

    record = catalog.get("doc-1")

    assert record is not None
    assert (record.status, record.error, record.chunk_count) == ("ok", None, 2)
    assert len(catalog.all()) == 1


def test_all_is_sorted_by_source(catalog: Catalog) -> None:
    catalog.record_ok(ok("id-1", "/docs/c.md", "C", "h", "p", 1))
    catalog.record_failed("id-2", "/docs/a.md", "bad")
    catalog.record_ok(ok("id-3", "/docs/b.md", "B", "h", "p", 1))

    assert [r.source for r in catalog.all()] == ["/docs/a.md", "/docs/b.md", "/docs/c.md"]
    assert [r.doc_id for r in catalog.all()] == ["id-2", "id-3", "id-1"]


def test_survives_reopening_the_same_file(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "catalog.sqlite3"
    first = Catalog(path)
    first.record_ok(ok("doc-1", "/docs/a.md", "A", "hash-a", "pipe-1", 3))
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


def test_live_versions_name_only_committed_documents(catalog: Catalog) -> None:
    catalog.record_pending("doc-new", "/docs/new.md", "hash-n")
    catalog.record_ok(ok("doc-1", "/docs/a.md", "A", "hash-a", "pipe-1", 3))
    catalog.record_failed("doc-bad", "/docs/bad.pdf", "no text")

    live = catalog.live_versions(["doc-new", "doc-1", "doc-bad", "unknown"])

    assert live == {"doc-1": "v-hash-a"}


def test_pending_document_that_then_fails_is_failed(catalog: Catalog) -> None:
    catalog.record_pending("doc-1", "/docs/a.md", "hash-a")
    assert catalog.get("doc-1").status == "pending"  # type: ignore[union-attr]

    catalog.record_failed("doc-1", "/docs/a.md", "boom")

    record = catalog.get("doc-1")
    assert record is not None and (record.status, record.error) == ("failed", "boom")
    assert record.cleanup_pending  # its half-written points are still to be removed


def test_commit_switches_the_version_and_asks_for_cleanup(catalog: Catalog) -> None:
    catalog.record_ok(ok("doc-1", "/docs/a.md", "A", "hash-a", "pipe-1", 3))
    catalog.mark_cleaned("doc-1")
    catalog.record_ok(ok("doc-1", "/docs/a.md", "A", "hash-b", "pipe-1", 4))

    record = catalog.get("doc-1")
    assert record is not None
    assert (record.version, record.chunk_count, record.cleanup_pending) == ("v-hash-b", 4, True)
    assert record.created_at <= record.updated_at


def test_move_remove_and_lookups(catalog: Catalog) -> None:
    catalog.record_ok(ok("doc-1", "/docs/a.md", "A", "hash-a", "pipe-1", 3))

    catalog.move("doc-1", "/archive/a.md")

    assert catalog.get_by_source("/docs/a.md") is None
    assert catalog.get_by_source("/archive/a.md").doc_id == "doc-1"  # type: ignore[union-attr]
    assert [r.doc_id for r in catalog.with_hash("hash-a")] == ["doc-1"]
    catalog.remove("doc-1")
    assert catalog.all() == []


def test_groups_round_trip(catalog: Catalog) -> None:
    catalog.record_ok(OkRecord("doc-1", "/docs/a.md", "A", "h", "v", "p", 1, 2, ("finance", "hr")))
    record = catalog.get("doc-1")
    assert record is not None and record.groups == ("finance", "hr") and record.pages == 2
