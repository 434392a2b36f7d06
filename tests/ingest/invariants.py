"""What must hold after any ingestion, however hostile the input: checks shared by the hostile
input tests (a clear status per file; the store and the catalog agreeing; good files findable)."""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import replace
from pathlib import Path

from app.answering.retrieve import retrieve
from ingest.catalog import Catalog
from ingest.pipeline import IngestOptions, IngestResult, ingest_paths
from ingest.sparse import encode_query
from ingest.store import QdrantStore
from ingest.types import Passage
from tests.fakes import FakeEmbedder
from tests.ingest.hostile import Good

OPTIONS = IngestOptions(chunk_tokens=40, chunk_overlap=5, workers=1)  # workers=1: the default
RESULT_STATUSES = {"new", "updated", "unchanged", "failed", "skipped"}
MAX_REASON = 600


def ingest(
    paths: Sequence[Path],
    store: QdrantStore,
    catalog: Catalog,
    *,
    workers: int = 1,
    sync: bool = False,
) -> list[IngestResult]:
    options = replace(OPTIONS, workers=workers, sync=sync)
    return ingest_paths(
        paths, embedder=FakeEmbedder(), store=store, catalog=catalog, options=options
    )


def assert_clear(result: IngestResult) -> None:
    """A status from the list, and for files not ingested a short reason in plain text."""
    assert result.status in RESULT_STATUSES, result
    if result.status in ("failed", "skipped"):
        reason = result.reason or ""
        assert reason.strip(), f"{result.source!r}: {result.status} without a reason"
        assert len(reason) <= MAX_REASON, f"{result.source!r}: a {len(reason)}-character reason"
        reason.encode("utf-8")  # printable anywhere: no lone surrogates
    result.source.encode("utf-8")


def stored_points(store: QdrantStore, dimension: int) -> list[Passage]:
    """Every point in the store (a dense query ranks all of them)."""
    probe = [1.0] + [0.0] * (dimension - 1)
    return store.search(probe, encode_query(""), limit=100_000, mode="dense")


def assert_store_matches_catalog(store: QdrantStore, catalog: Catalog) -> None:
    """Each committed document has exactly its current version's chunks in the store; nothing
    else is there (no points of failed, skipped or pending documents, no stale versions)."""
    records = {r.doc_id: r for r in catalog.all()}
    points: dict[str, list[Passage]] = {}
    for point in stored_points(store, FakeEmbedder().dimension):
        points.setdefault(point.doc_id, []).append(point)
    assert not [r for r in records.values() if r.status == "pending"]
    assert set(points) <= {d for d, r in records.items() if r.status == "ok"}, "orphan points"
    for doc_id, record in records.items():
        mine = points.get(doc_id, [])
        if record.status != "ok":
            assert not mine, f"{record.source!r} is {record.status} but has points"
            continue
        assert {p.version for p in mine} == {record.version}, record.source
        assert sorted(p.chunk_index for p in mine) == list(range(record.chunk_count))
        assert {p.source for p in mine} == {record.source}
        assert not record.cleanup_pending


def assert_findable(good: Good, store: QdrantStore, catalog: Catalog) -> None:
    hits = retrieve(
        good.word,
        embedder=FakeEmbedder(),
        store=store,
        limit=3,
        live_versions=catalog.live_versions,
        mode="sparse",
    )
    assert hits, f"{good.word} ({good.path.name}) is not searchable"
    assert hits[0].source == str(good.path.resolve())
    assert good.word in hits[0].text.lower()


def by_source(results: Iterable[IngestResult]) -> dict[str, IngestResult]:
    table: dict[str, IngestResult] = {}
    for result in results:
        assert result.source not in table, f"two results for {result.source!r}"
        table[result.source] = result
    return table


def printable(path: Path) -> str:
    """A path as results show it when its name is not UTF-8 (bytes escaped as \\xNN)."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")
