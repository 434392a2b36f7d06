"""A second opinion on relevance: a cross-encoder reads question and passage together.

Slower than the vector search, so it reorders only the first candidates the search found
(`RERANK_CANDIDATES`). No reranker weights ship in a registry: `CrossEncoderReranker` loads a
sentence-transformers cross-encoder from a local folder (DOCENT_RERANKER_PATH).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, Protocol

from ingest.types import Passage

RERANK_CANDIDATES = 30  # passages fetched and reranked for each question


class Reranker(Protocol):
    name: str

    def score(self, query: str, texts: Sequence[str]) -> list[float]:
        """One relevance score per text, higher is better."""
        ...


def rerank(reranker: Reranker, query: str, passages: Sequence[Passage]) -> list[Passage]:
    """The passages by the reranker's score (ties keep their order), scored by it."""
    if not passages:
        return []
    scores = reranker.score(query, [p.text for p in passages])
    if len(scores) != len(passages):
        count = f"{len(scores)} scores for {len(passages)} passages"
        raise ValueError(f"reranker {reranker.name!r} returned {count}")
    order = sorted(range(len(passages)), key=lambda i: -scores[i])
    return [replace(passages[i], score=float(scores[i])) for i in order]


def rerank_first(
    reranker: Reranker, query: str, passages: Sequence[Passage], candidates: int
) -> list[Passage]:
    """The first `candidates` passages reranked, the rest after them as they were."""
    return rerank(reranker, query, passages[:candidates]) + list(passages[candidates:])


class CrossEncoderReranker:
    """A sentence-transformers `CrossEncoder` from a local folder (no download)."""

    def __init__(self, path: Path, *, batch_size: int = 16, max_length: int = 512) -> None:
        if not path.is_dir():
            raise FileNotFoundError(f"reranker model folder {path} does not exist")
        from sentence_transformers import CrossEncoder

        self.name = path.name
        self._batch_size = batch_size
        self._model: Any = CrossEncoder(
            str(path), max_length=max_length, device="cpu", local_files_only=True
        )

    def score(self, query: str, texts: Sequence[str]) -> list[float]:
        if not texts:
            return []
        pairs = [(query, text) for text in texts]
        scores = self._model.predict(pairs, batch_size=self._batch_size, show_progress_bar=False)
        return [float(s) for s in scores]
