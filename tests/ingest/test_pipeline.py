"""End to end: real parse, FakeEmbedder, in-memory Qdrant, SQLite catalog."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ingest.catalog import Catalog
from ingest.pipeline import IngestOptions, IngestResult, document_id, ingest_paths
from ingest.sparse import encode_query
from ingest.store import QdrantStore
from ingest.types import Passage
from tests.fakes import FakeEmbedder

OPTIONS = IngestOptions(chunk_tokens=40, chunk_overlap=5)


def guide(marker: str) -> str:
    """A markdown handbook long enough for several chunks; `marker` is in one section only."""
    return (
        "# Travel Handbook\n\n"
        "This handbook explains how employees book and pay for business travel. "
        "It applies to every trip taken on behalf of the company.\n\n"
        "## Booking\n\n"
        "Book flights through the travel portal at least two weeks ahead. "
        "Economy class is the default for flights shorter than six hours. "
        "Trains are preferred for journeys under four hours.\n\n"
        "## Hotels\n\n"
        f"Hotels near the office are listed on the intranet. The {marker} room rate is capped. "
        "Stays longer than a week need approval from a manager before booking.\n\n"
        "## Expenses\n\n"
        "Keep every receipt and submit expenses within thirty days of returning. "
        "Meals are reimbursed up to the daily allowance for the destination country.\n"
    )


def ingest(
    paths: list[Path],
    embedder: FakeEmbedder,
    store: QdrantStore,
    catalog: Catalog,
    options: IngestOptions = OPTIONS,
) -> list[IngestResult]:
    return ingest_paths(paths, embedder=embedder, store=store, catalog=catalog, options=options)


def all_passages(store: QdrantStore, dimension: int) -> list[Passage]:
    """Every stored point (a dense query ranks all of them)."""
    probe = [1.0] + [0.0] * (dimension - 1)
    return store.search(probe, encode_query(""), limit=10_000, mode="dense")


def keyword_hits(store: QdrantStore, dimension: int, word: str) -> list[Passage]:
    return store.search([0.0] * dimension, encode_query(word), limit=100, mode="sparse")


def test_first_run_ingests_new_documents(
    tmp_path: Path, embedder: FakeEmbedder, store: QdrantStore, catalog: Catalog
) -> None:
    docs = tmp_path / "docs"  # tmp_path itself holds the catalog's database files
    docs.mkdir()
    (docs / "travel.md").write_text(guide("zeppelin"))
    (docs / "notes.txt").write_text(
        "The quarterly review covered the budget for next year.\n\n"
        "The committee approved the budget after a long discussion.\n"
    )

    results = ingest([docs], embedder, store, catalog)

    assert sorted(r.status for r in results) == ["new", "new"]
    by_name = {Path(r.source).name: r for r in results}
    assert set(by_name) == {"travel.md", "notes.txt"}
    assert by_name["travel.md"].chunks > 1
    assert by_name["notes.txt"].chunks >= 1
    assert store.count() == sum(r.chunks for r in results)
    assert len(embedder.embedded_texts) == store.count()
    for result in results:
        record = catalog.get(document_id(Path(result.source)))
        assert record is not None
        assert (record.status, record.chunk_count, record.error) == ("ok", result.chunks, None)
    assert keyword_hits(store, embedder.dimension, "zeppelin")


def test_every_stored_passage_fits_the_chunk_budget(
    tmp_path: Path, embedder: FakeEmbedder, store: QdrantStore, catalog: Catalog
) -> None:
    (tmp_path / "travel.md").write_text(guide("zeppelin"))

    [result] = ingest([tmp_path / "travel.md"], embedder, store, catalog)

    passages = all_passages(store, embedder.dimension)
    assert len(passages) == result.chunks
    assert sorted(p.chunk_index for p in passages) == list(range(result.chunks))
    assert all(embedder.count_tokens(p.text) <= OPTIONS.chunk_tokens for p in passages)
    assert {p.title for p in passages} == {"Travel Handbook"}
    assert ("Travel Handbook", "Hotels") in {p.headings for p in passages}


def test_second_run_is_unchanged_and_embeds_nothing(
    tmp_path: Path, embedder: FakeEmbedder, store: QdrantStore, catalog: Catalog
) -> None:
    path = tmp_path / "travel.md"
    path.write_text(guide("zeppelin"))
    [first] = ingest([path], embedder, store, catalog)
    batches = len(embedder.batches)
    os.utime(path, (1_000_000_000, 1_000_000_000))  # a new mtime alone is no change

    [second] = ingest([path], embedder, store, catalog)

    assert (second.status, second.chunks) == ("unchanged", first.chunks)
    assert len(embedder.batches) == batches
    assert store.count() == first.chunks


def test_modified_file_replaces_its_old_chunks(
    tmp_path: Path, embedder: FakeEmbedder, store: QdrantStore, catalog: Catalog
) -> None:
    path = tmp_path / "travel.md"
    path.write_text(guide("zeppelin"))
    [first] = ingest([path], embedder, store, catalog)
    assert keyword_hits(store, embedder.dimension, "zeppelin")
    path.write_text(
        guide("submarine")
        + "\n## Visas\n\nCheck visa rules early for every destination outside the home"
        + " country before booking.\n"
    )

    [second] = ingest([path], embedder, store, catalog)

    assert second.status == "updated"
    assert second.chunks != first.chunks
    assert store.count() == second.chunks
    stale = keyword_hits(store, embedder.dimension, "zeppelin")
    assert not [p for p in stale if "zeppelin" in p.text]
    assert any("submarine" in p.text for p in keyword_hits(store, embedder.dimension, "submarine"))
    record = catalog.get(document_id(path))
    assert record is not None and record.chunk_count == second.chunks


def test_changed_chunk_options_reembed_unchanged_content(
    tmp_path: Path, embedder: FakeEmbedder, store: QdrantStore, catalog: Catalog
) -> None:
    path = tmp_path / "travel.md"
    path.write_text(guide("zeppelin"))
    ingest([path], embedder, store, catalog, IngestOptions(chunk_tokens=20, chunk_overlap=5))
    batches = len(embedder.batches)
    before = catalog.get(document_id(path))

    [result] = ingest([path], embedder, store, catalog, IngestOptions(chunk_tokens=30))

    assert result.status == "updated"
    assert len(embedder.batches) == batches + 1
    after = catalog.get(document_id(path))
    assert before is not None and after is not None
    assert after.pipeline != before.pipeline
    assert after.content_hash == before.content_hash
    assert after.chunk_count == result.chunks


def test_changed_chunk_options_leave_no_stale_chunks(
    tmp_path: Path, embedder: FakeEmbedder, store: QdrantStore, catalog: Catalog
) -> None:
    path = tmp_path / "travel.md"
    path.write_text(guide("zeppelin"))
    [small] = ingest([path], embedder, store, catalog, IngestOptions(20, 5))

    [large] = ingest([path], embedder, store, catalog, IngestOptions(200, 5))

    assert large.chunks < small.chunks
    assert store.count() == large.chunks


def test_bad_files_fail_with_reasons_and_the_batch_continues(
    tmp_path: Path, embedder: FakeEmbedder, store: QdrantStore, catalog: Catalog
) -> None:
    (tmp_path / "a_empty.txt").write_bytes(b"")
    (tmp_path / "b_broken.pdf").write_bytes(bytes(range(256)) * 16)
    (tmp_path / "c_good.md").write_text(guide("zeppelin"))
    seen: list[IngestResult] = []

    results = ingest_paths(
        [tmp_path],
        embedder=embedder,
        store=store,
        catalog=catalog,
        options=OPTIONS,
        on_result=seen.append,
    )

    assert seen == results
    by_name = {Path(r.source).name: r for r in results}
    assert by_name["c_good.md"].status == "new"
    assert store.count() == by_name["c_good.md"].chunks > 0
    assert by_name["a_empty.txt"].status == "failed"
    assert "empty file" in (by_name["a_empty.txt"].reason or "")
    assert by_name["b_broken.pdf"].status == "failed"
    assert by_name["b_broken.pdf"].reason
    for name in ("a_empty.txt", "b_broken.pdf"):
        record = catalog.get(document_id(tmp_path / name))
        assert record is not None
        assert (record.status, record.error) == ("failed", by_name[name].reason)


def test_failure_after_success_keeps_the_last_good_version(
    tmp_path: Path, embedder: FakeEmbedder, store: QdrantStore, catalog: Catalog
) -> None:
    path = tmp_path / "travel.md"
    content = guide("zeppelin")
    path.write_text(content)
    [first] = ingest([path], embedder, store, catalog)
    path.write_bytes(b"")

    [broken] = ingest([path], embedder, store, catalog)

    assert broken.status == "failed" and "empty file" in (broken.reason or "")
    assert store.count() == first.chunks
    assert keyword_hits(store, embedder.dimension, "zeppelin")
    record = catalog.get(document_id(path))
    assert record is not None and record.status == "ok" and record.error

    path.write_text(content)
    [fixed] = ingest([path], embedder, store, catalog)

    assert fixed.status != "failed"
    assert store.count() == fixed.chunks == first.chunks
    record = catalog.get(document_id(path))
    assert record is not None and (record.status, record.error) == ("ok", None)


def test_missing_path_fails_with_no_such_file(
    tmp_path: Path, embedder: FakeEmbedder, store: QdrantStore, catalog: Catalog
) -> None:
    [result] = ingest([tmp_path / "missing.md"], embedder, store, catalog)

    assert result.status == "failed"
    assert result.reason == "no such file"
    assert store.count() == 0


def test_folders_skip_hidden_files_and_report_unsupported_ones(
    tmp_path: Path, embedder: FakeEmbedder, store: QdrantStore, catalog: Catalog
) -> None:
    (tmp_path / "docs" / ".git").mkdir(parents=True)
    (tmp_path / "docs" / ".git" / "notes.md").write_text("# Hidden\n\nNot ingested.\n")
    (tmp_path / "docs" / "drawing.svg").write_bytes(b"<svg/>")
    (tmp_path / "docs" / "sub").mkdir()
    (tmp_path / "docs" / "sub" / "travel.md").write_text(guide("zeppelin"))

    results = ingest([tmp_path / "docs"], embedder, store, catalog)

    # unsupported files are reported, never silently dropped; hidden folders are not walked
    assert [(Path(r.source).name, r.status) for r in results] == [
        ("drawing.svg", "skipped"),
        ("travel.md", "new"),
    ]
    assert results[0].reason == "unsupported file type .svg"
    record = catalog.get_by_source(str((tmp_path / "docs" / "drawing.svg").resolve()))
    assert record is not None and record.status_text == "skipped: unsupported file type .svg"


def test_document_id_is_deterministic_per_path(tmp_path: Path) -> None:
    path = tmp_path / "travel.md"

    assert document_id(path) == document_id(tmp_path / "travel.md")
    assert document_id(Path("travel.md")) == document_id(path)  # cwd is tmp_path
    assert document_id(path) != document_id(tmp_path / "other.md")


def test_point_ids_are_deterministic_across_stores(
    tmp_path: Path, embedder: FakeEmbedder, store: QdrantStore, catalog: Catalog
) -> None:
    path = tmp_path / "travel.md"
    path.write_text(guide("zeppelin"))
    ingest([path], embedder, store, catalog)
    first_ids = {p.point_id for p in all_passages(store, embedder.dimension)}

    other_store = QdrantStore("other", path=None)
    other_catalog = Catalog(tmp_path / "other.sqlite3")
    try:
        ingest([path], FakeEmbedder(), other_store, other_catalog)
        second_ids = {p.point_id for p in all_passages(other_store, embedder.dimension)}
    finally:
        other_store.close()
        other_catalog.close()

    assert len(first_ids) > 1
    assert second_ids == first_ids


def test_same_relative_name_in_two_folders_keeps_both_records(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    embedder: FakeEmbedder,
    store: QdrantStore,
    catalog: Catalog,
) -> None:
    for folder, marker in (("a", "zeppelin"), ("b", "submarine")):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "travel.md").write_text(guide(marker))
    total = 0
    for folder in ("a", "b"):
        monkeypatch.chdir(tmp_path / folder)
        [result] = ingest([Path("travel.md")], embedder, store, catalog)
        assert result.status == "new"
        total += result.chunks

    assert store.count() == total
    records = catalog.all()
    assert len(records) == 2
    assert len({r.source for r in records}) == 2
