"""Exactly incremental: moves, sync, dry runs, group changes, forced re-index, parse workers."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from ingest.catalog import Catalog
from ingest.pipeline import IngestOptions, IngestResult, ingest_paths
from ingest.planning import SETTINGS_CHANGED
from ingest.store import QdrantStore, StoreMismatch
from tests.fakes import FakeEmbedder

OPTIONS = IngestOptions(chunk_tokens=40, chunk_overlap=5)


def _docs(root: Path) -> Path:
    docs = root / "docs"
    (docs / "sub").mkdir(parents=True)
    (docs / "leave.md").write_text("# Leave\n\nEveryone gets twenty eight days of annual leave.\n")
    (docs / "sub" / "travel.md").write_text("# Travel\n\nThe hotel cap in London is 240 EUR.\n")
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


def test_moved_file_keeps_its_chunks_and_is_not_embedded_again(
    tmp_path: Path, embedder: FakeEmbedder, store: QdrantStore, catalog: Catalog
) -> None:
    docs = _docs(tmp_path)
    first = _run([docs], embedder, store, catalog)
    before = len(embedder.embedded_texts)
    (docs / "sub" / "travel.md").rename(docs / "business-travel.md")

    second = _run([docs], embedder, store, catalog)

    assert second["business-travel.md"].status == "moved"
    assert second["business-travel.md"].chunks == first["travel.md"].chunks
    assert len(embedder.embedded_texts) == before  # nothing re-embedded
    record = catalog.get_by_source(str((docs / "business-travel.md").resolve()))
    assert record is not None
    chunks = store.document_chunks(record.doc_id, record.version)
    assert {Path(c.source).name for c in chunks} == {"business-travel.md"}
    assert len(catalog.all()) == 2


def test_copy_of_a_file_is_a_second_document(
    tmp_path: Path, embedder: FakeEmbedder, store: QdrantStore, catalog: Catalog
) -> None:
    docs = _docs(tmp_path)
    _run([docs], embedder, store, catalog)
    (docs / "copy.md").write_bytes((docs / "leave.md").read_bytes())

    result = _run([docs], embedder, store, catalog)

    assert result["copy.md"].status == "new"  # the original still exists: not a move
    assert len(catalog.all()) == 3


def test_sync_removes_documents_whose_files_are_gone_under_the_given_folders(
    tmp_path: Path, embedder: FakeEmbedder, store: QdrantStore, catalog: Catalog
) -> None:
    docs = _docs(tmp_path)
    other = tmp_path / "other"
    other.mkdir()
    (other / "faq.md").write_text("# FAQ\n\nThe canteen opens at noon.\n")
    _run([docs, other], embedder, store, catalog)
    (docs / "leave.md").unlink()
    (other / "faq.md").unlink()

    without_sync = _run([docs], embedder, store, catalog)
    assert "leave.md" not in without_sync
    assert len(catalog.all()) == 3

    with_sync = _run([docs], embedder, store, catalog, replace(OPTIONS, sync=True))

    assert with_sync["leave.md"].status == "removed"
    assert "faq.md" not in with_sync  # outside the folders given: left alone
    assert sorted(Path(r.source).name for r in catalog.all()) == ["faq.md", "travel.md"]
    assert store.count() == sum(r.chunk_count for r in catalog.all())


def test_dry_run_reports_and_changes_nothing(
    tmp_path: Path, embedder: FakeEmbedder, store: QdrantStore, catalog: Catalog
) -> None:
    docs = _docs(tmp_path)
    _run([docs], embedder, store, catalog)
    (docs / "leave.md").write_text("# Leave\n\nEveryone gets thirty days of annual leave.\n")
    (docs / "new.md").write_text("# New\n\nA brand new policy.\n")
    (docs / "sub" / "travel.md").unlink()
    before_points, before_texts = store.count(), len(embedder.embedded_texts)
    before_catalog = catalog.all()

    plan = _run([docs], embedder, store, catalog, replace(OPTIONS, dry_run=True, sync=True))

    assert {name: r.status for name, r in plan.items()} == {
        "leave.md": "updated",
        "new.md": "new",
        "travel.md": "removed",
    }
    assert (store.count(), len(embedder.embedded_texts)) == (before_points, before_texts)
    assert catalog.all() == before_catalog


def test_changing_groups_updates_the_payload_without_embedding(
    tmp_path: Path, embedder: FakeEmbedder, store: QdrantStore, catalog: Catalog
) -> None:
    docs = _docs(tmp_path)
    _run([docs], embedder, store, catalog)
    before = len(embedder.embedded_texts)

    result = _run([docs], embedder, store, catalog, replace(OPTIONS, groups=("finance",)))

    assert {r.status for r in result.values()} == {"updated"}
    assert len(embedder.embedded_texts) == before
    for record in catalog.all():
        assert record.groups == ("finance",)
    again = _run([docs], embedder, store, catalog, replace(OPTIONS, groups=("finance",)))
    assert {r.status for r in again.values()} == {"unchanged"}


def test_force_reindexes_unchanged_files(
    tmp_path: Path, embedder: FakeEmbedder, store: QdrantStore, catalog: Catalog
) -> None:
    docs = _docs(tmp_path)
    _run([docs], embedder, store, catalog)
    before = len(embedder.embedded_texts)

    result = _run([docs], embedder, store, catalog, replace(OPTIONS, force=True))

    assert {r.status for r in result.values()} == {"updated"}
    assert len(embedder.embedded_texts) > before
    assert store.count() == sum(r.chunk_count for r in catalog.all())


def test_worker_processes_give_the_same_result_as_inline_parsing(
    tmp_path: Path, embedder: FakeEmbedder, store: QdrantStore, catalog: Catalog
) -> None:
    docs = _docs(tmp_path)
    (docs / "broken.pdf").write_bytes(b"%PDF-1.4 garbage that is not a pdf")

    result = _run([docs], embedder, store, catalog, replace(OPTIONS, workers=2))

    assert {name: r.status for name, r in result.items()} == {
        "broken.pdf": "failed",
        "leave.md": "new",
        "travel.md": "new",
    }
    assert [r.doc_id for r in catalog.all() if r.status == "ok"]
    inline = QdrantStore("inline")
    other_catalog = Catalog(tmp_path / "inline.sqlite3")
    try:
        _run([docs], FakeEmbedder(), inline, other_catalog)
        assert inline.count() == store.count()
    finally:
        inline.close()
        other_catalog.close()


def test_new_chunk_settings_re_embed_unchanged_files_and_say_why(
    tmp_path: Path, embedder: FakeEmbedder, store: QdrantStore, catalog: Catalog
) -> None:
    docs = _docs(tmp_path)
    _run([docs], embedder, store, catalog)

    result = _run([docs], embedder, store, catalog, replace(OPTIONS, chunk_tokens=30))

    assert {r.status for r in result.values()} == {"updated"}
    assert {r.reason for r in result.values()} == {SETTINGS_CHANGED}


def test_an_embedder_of_another_dimension_is_refused_clearly(
    tmp_path: Path, store: QdrantStore, catalog: Catalog
) -> None:
    docs = _docs(tmp_path)
    _run([docs], FakeEmbedder(dimension=64), store, catalog)
    with pytest.raises(StoreMismatch, match=r"64-dimensional vectors.*32-dimensional"):
        _run([docs], FakeEmbedder(dimension=32, name="other"), store, catalog)


def test_small_documents_share_one_embedding_call(
    tmp_path: Path, embedder: FakeEmbedder, store: QdrantStore, catalog: Catalog
) -> None:
    docs = _docs(tmp_path)
    (docs / "third.md").write_text("# Third\n\nA third short policy about lunch breaks.\n")

    result = _run([docs], embedder, store, catalog)

    assert {r.status for r in result.values()} == {"new"}
    assert len(embedder.batches) == 1  # three documents, one call
    assert len(embedder.batches[0]) == sum(r.chunks for r in result.values())
    for record in catalog.all():  # each still committed with its own chunks
        assert len(store.document_chunks(record.doc_id, record.version)) == record.chunk_count


def test_an_emptied_store_makes_the_catalog_forget_and_ingest_again(
    tmp_path: Path, embedder: FakeEmbedder, catalog: Catalog
) -> None:
    docs = _docs(tmp_path)
    first = QdrantStore("one")
    _run([docs], embedder, first, catalog)
    first.close()
    fresh = QdrantStore("two")  # another store kind, or its folder deleted by hand
    try:
        result = _run([docs], embedder, fresh, catalog)
        assert {r.status for r in result.values()} == {"new"}
        assert fresh.count() == sum(r.chunk_count for r in catalog.all())
    finally:
        fresh.close()
