"""A file whose parsing never seems to end is stopped, reported, and the batch goes on."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from app.services import ingest_options
from app.settings import Settings
from ingest.catalog import Catalog
from ingest.pipeline import ingest_paths
from ingest.store import QdrantStore
from tests.fakes import FakeEmbedder
from tests.ingest.invariants import OPTIONS, assert_clear, assert_store_matches_catalog, by_source

pytestmark = pytest.mark.slow  # real parsers in worker processes, twice started

TIMEOUT = 1.0  # seconds; the slow file needs tens of them (unstructured: ~30 s per MB of prose)


def prose(megabytes: float) -> str:
    """Varied sentences in paragraphs: the text partitioner's slow case."""
    sentences = []
    i = 0
    while sum(len(s) for s in sentences) < megabytes * 1_000_000:
        sentences.append(
            f"Clause {i} assigns the ledger {i * 7 % 101} to team {i % 13} for review."
        )
        i += 1
    paragraphs = [" ".join(sentences[k : k + 8]) for k in range(0, len(sentences), 8)]
    return "\n\n".join(paragraphs)


def test_a_file_past_the_parse_timeout_fails_with_a_reason_and_the_rest_are_ingested(
    tmp_path: Path, store: QdrantStore, catalog: Catalog
) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "a-before.md").write_text("# Before\n\nThe canteen opens at noon.\n")
    (folder / "b-endless.txt").write_text(prose(1.5))
    (folder / "c-after.md").write_text("# After\n\nThe gym opens at six.\n")
    options = replace(OPTIONS, workers=1, parse_timeout=TIMEOUT)
    embedder = FakeEmbedder()
    store.ensure_collection(embedder.dimension)

    done = ingest_paths([folder], embedder=embedder, store=store, catalog=catalog, options=options)
    results = {Path(source).name: r for source, r in by_source(done).items()}

    assert {name: r.status for name, r in results.items()} == {
        "a-before.md": "new",
        "b-endless.txt": "failed",
        "c-after.md": "new",  # parsed by a fresh worker after the stuck one was killed
    }
    slow = results["b-endless.txt"]
    assert (
        slow.reason and "longer than 1 s" in slow.reason and "DOCENT_PARSE_TIMEOUT" in slow.reason
    )
    for result in results.values():
        assert_clear(result)
    assert_store_matches_catalog(store, catalog)


def test_the_setting_reaches_ingestion() -> None:
    assert ingest_options(Settings(parse_timeout=90)).parse_timeout == 90
    assert ingest_options(Settings(parse_timeout=0)).parse_timeout is None  # no limit
