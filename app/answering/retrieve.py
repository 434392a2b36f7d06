"""Find the passages for a question: one hybrid (dense + keyword) query in the vector store,
optionally a reranker, then neighbouring chunks merged and one document kept from crowding out
the others (see app.answering.expand).

Only a document's current version is shown: the catalog says which one (see ingest.catalog),
so a document being re-ingested, or left half-written by a crash, never shows two versions.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from app.answering.expand import diversify, first_chunks, merge_neighbours
from app.answering.rerank import RERANK_CANDIDATES, Reranker, rerank_first
from ingest.access import PUBLIC, Access
from ingest.embed import Embedder
from ingest.sparse import encode_query
from ingest.store import DEFAULT_FUSION, Fusion, SearchMode, VectorStore
from ingest.types import Passage, SearchFilters

LiveVersions = Callable[[Iterable[str]], dict[str, str]]
OVERFETCH = 4  # candidates per passage asked for: stale versions, neighbours, other documents
MAX_PASSAGES_PER_DOCUMENT = 3  # before other documents get a turn (0: no limit)


@dataclass(frozen=True)
class RetrievalOptions:
    """How retrieval searches; built from the settings (see app.services)."""

    fusion: Fusion = DEFAULT_FUSION
    prefetch: int | None = None  # candidates per half of a hybrid query; None: the store's
    reranker: Reranker | None = None
    rerank_candidates: int = RERANK_CANDIDATES  # fetched and reranked when a reranker is set
    max_per_document: int = MAX_PASSAGES_PER_DOCUMENT
    merge_neighbours: bool = True

    def candidates(self, limit: int) -> int:
        """How many passages to fetch for `limit` to be shown."""
        wanted = limit * OVERFETCH
        return max(wanted, self.rerank_candidates) if self.reranker is not None else wanted


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
    filters: SearchFilters | None = None,
    options: RetrievalOptions | None = None,
) -> list[Passage]:
    """The best passages the asker may read (filtered in the query, and checked again here),
    narrowed by `filters` inside the same query: `limit` chunks, neighbours joined."""
    options = options or RetrievalOptions()
    dense = question_vector or embedder.embed([question])[0]
    found = store.search(
        dense,
        encode_query(question),
        options.candidates(limit),
        mode=mode,
        access=access,
        fusion=options.fusion,
        prefetch=options.prefetch,
        filters=filters,
    )
    found = [p for p in found if access.allows(p.groups)]
    if live_versions is not None:
        live = live_versions(p.doc_id for p in found)
        found = [p for p in found if live.get(p.doc_id) == p.version]
    if options.reranker is not None:
        found = rerank_first(options.reranker, question, found, options.rerank_candidates)
    if options.merge_neighbours:
        found = merge_neighbours(found)
    return first_chunks(diversify(found, options.max_per_document), limit)
