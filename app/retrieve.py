"""Find the passages for a question: one hybrid (dense + keyword) query in the vector store."""

from __future__ import annotations

from ingest.embed import Embedder
from ingest.sparse import encode_query
from ingest.store import SearchMode, VectorStore
from ingest.types import Passage


def retrieve(
    question: str,
    *,
    embedder: Embedder,
    store: VectorStore,
    limit: int,
    mode: SearchMode = "hybrid",
) -> list[Passage]:
    dense = embedder.embed([question])[0]
    return store.search(dense, encode_query(question), limit, mode=mode)
