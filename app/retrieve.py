"""Find the passages for a question: one hybrid (dense + keyword) query in the vector store.

Only a document's current version is shown: the catalog says which one (see ingest.catalog),
so a document being re-ingested, or left half-written by a crash, never shows two versions.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from ingest.access import PUBLIC, Access
from ingest.embed import Embedder
from ingest.sparse import encode_query
from ingest.store import SearchMode, VectorStore
from ingest.types import Passage

LiveVersions = Callable[[Iterable[str]], dict[str, str]]
OVERFETCH = 2


def retrieve(
    question: str,
    *,
    embedder: Embedder,
    store: VectorStore,
    limit: int,
    live_versions: LiveVersions | None = None,
    mode: SearchMode = "hybrid",
    access: Access = PUBLIC,
    question_vector: list[float] | None = None,
) -> list[Passage]:
    """The best passages the asker may read (filtered in the query, and checked again here)."""
    dense = question_vector or embedder.embed([question])[0]
    fetch = limit * OVERFETCH if live_versions else limit
    found = store.search(dense, encode_query(question), fetch, mode=mode, access=access)
    found = [p for p in found if access.allows(p.groups)]
    if live_versions is not None:
        live = live_versions(p.doc_id for p in found)
        found = [p for p in found if live.get(p.doc_id) == p.version]
    return found[:limit]
