"""SIGKILL during ingestion at every step of the write order: no half-visible document, and the
next run converges (no duplicate, no stale chunk)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.answering.retrieve import retrieve
from ingest.catalog import Catalog
from ingest.pipeline import IngestOptions, ingest_paths
from ingest.store import QdrantStore
from tests.fakes import FakeEmbedder

ROOT = Path(__file__).resolve().parents[2]
OPTIONS = IngestOptions(chunk_tokens=40, chunk_overlap=5)

# The child ingests like the CLI, but SIGKILLs itself at the N-th call of one step.
CHILD = textwrap.dedent(
    """
    import os, signal, sys
    from pathlib import Path
    from ingest.catalog import Catalog
    from ingest.pipeline import IngestOptions, ingest_paths
    from ingest.store import QdrantStore
    from tests.fakes import FakeEmbedder

    data, docs, target, nth = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], int(sys.argv[4])
    store = QdrantStore("docs", path=data / "qdrant")
    catalog = Catalog(data / "catalog.sqlite3")
    owner = store if hasattr(store, target) else catalog
    original = getattr(owner, target)
    calls = 0

    def killing(*args, **kwargs):
        global calls
        calls += 1
        if calls == nth:
            os.kill(os.getpid(), signal.SIGKILL)
        return original(*args, **kwargs)

    setattr(owner, target, killing)
    ingest_paths([docs], embedder=FakeEmbedder(), store=store, catalog=catalog,
                 options=IngestOptions(chunk_tokens=40, chunk_overlap=5))
    sys.exit(3)  # never reached when the kill point is hit
    """
)

OLD_WORD = "zeppelinold"
NEW_WORD = "quasarnew"


def _write_docs(docs: Path, version: str) -> None:
    docs.mkdir(exist_ok=True)
    word = OLD_WORD if version == "old" else NEW_WORD
    for name in ("alpha", "beta", "gamma"):
        body = " ".join(f"{name} sentence {i} about policies." for i in range(30))
        extra = f"\n\n## Changing\n\nThis part mentions {word} many times: {word} {word}.\n"
        (docs / f"{name}.md").write_text(f"# {name.title()}\n\n{body}\n{extra}")


@pytest.fixture
def layout(tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    data, docs = tmp_path / "data", tmp_path / "docs"
    _write_docs(docs, "old")
    with _opened(data) as (store, catalog):
        results = ingest_paths(
            [docs], embedder=FakeEmbedder(), store=store, catalog=catalog, options=OPTIONS
        )
        assert {r.status for r in results} == {"new"}
    _write_docs(docs, "new")  # every file changes: the next run updates all three
    yield data, docs


class _opened:
    def __init__(self, data: Path) -> None:
        self.data = data

    def __enter__(self) -> tuple[QdrantStore, Catalog]:
        self.store = QdrantStore("docs", path=self.data / "qdrant")
        self.catalog = Catalog(self.data / "catalog.sqlite3")
        return self.store, self.catalog

    def __exit__(self, *_: object) -> None:
        self.store.close()
        self.catalog.close()


def _visible_words(store: QdrantStore, catalog: Catalog) -> dict[str, set[str]]:
    """What search shows for each document: which of the two marker words."""
    seen: dict[str, set[str]] = {}
    for word in (OLD_WORD, NEW_WORD):
        for p in retrieve(
            word,
            embedder=FakeEmbedder(),
            store=store,
            limit=50,
            live_versions=catalog.live_versions,
            mode="sparse",
        ):
            seen.setdefault(p.doc_id, set()).add(word)
    return seen


KILL_POINTS = [
    ("upsert", 1),  # before the first document's new chunks are written
    ("upsert", 2),  # first document switched, second not yet written
    ("record_ok", 2),  # second document's chunks written, not yet committed
    ("delete_document", 1),  # first document committed, old chunks not yet removed
    ("mark_cleaned", 3),  # last document cleaned in the store, catalog not told
]


@pytest.mark.parametrize(("target", "nth"), KILL_POINTS)
def test_sigkill_leaves_no_half_visible_document_and_rerun_converges(
    layout: tuple[Path, Path], target: str, nth: int
) -> None:
    data, docs = layout
    child = subprocess.run(
        [sys.executable, "-c", CHILD, str(data), str(docs), target, str(nth)],
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "DO_NOT_TRACK": "1"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert child.returncode == -9, child.stderr  # killed where we asked

    with _opened(data) as (store, catalog):
        for doc_id, words in _visible_words(store, catalog).items():
            assert len(words) == 1, f"{doc_id} shows old and new text at once"
        for record in catalog.all():  # the committed version is complete
            chunks = store.document_chunks(record.doc_id, record.version)
            assert len(chunks) == record.chunk_count

    with _opened(data) as (store, catalog):
        ingest_paths([docs], embedder=FakeEmbedder(), store=store, catalog=catalog, options=OPTIONS)
        records = catalog.all()
        assert [r.status for r in records] == ["ok"] * 3
        assert not any(r.cleanup_pending for r in records)
        assert store.count() == sum(r.chunk_count for r in records)  # no stale, no duplicate
        assert all(w == {NEW_WORD} for w in _visible_words(store, catalog).values())
        assert len(_visible_words(store, catalog)) == 3
