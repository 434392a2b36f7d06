"""Run every judged query in each search mode and score the documents found.

Each query goes through the product's own `retrieve()` with the app's retrieval options (the
same over-fetching, access and version checks, joined neighbours and per-document limit as an
answer), asking for `depth` chunks; documents rank where their best passage ranks (so fewer
than `depth` documents may come back). Latency is the wall clock of what the mode needs per query:
the sparse query always, the dense embedding for the dense and hybrid modes, and the reranker
for "hybrid+rerank".

Modes: "dense", "sparse", "hybrid-rrf" and "hybrid-dbsf" (one fusion each), "hybrid" (the
configured fusion) and "hybrid+rerank" (the configured fusion, its first candidates reranked).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from app.answering.rerank import Reranker
from app.answering.retrieve import LiveVersions, RetrievalOptions, retrieve
from app.evaluation.beir import BeirDataset
from app.evaluation.metrics import mrr_at_k, ndcg_at_k, rank_documents, recall_at_k
from app.evaluation.report import EvalReport, QueryResult, summarize
from ingest.access import Access
from ingest.embed import Embedder
from ingest.store import Fusion, SearchMode, VectorStore, prefetch_depth
from ingest.types import Passage

MODES: tuple[str, ...] = ("dense", "sparse", "hybrid")  # the default: hybrid as configured
RERANK_MODE = "hybrid+rerank"
CONFIGURED = None  # the fusion the evaluation was given
SEARCH_MODES: dict[str, tuple[SearchMode, Fusion | None]] = {
    "dense": ("dense", CONFIGURED),
    "sparse": ("sparse", CONFIGURED),
    "hybrid": ("hybrid", CONFIGURED),
    "hybrid-rrf": ("hybrid", "rrf"),
    "hybrid-dbsf": ("hybrid", "dbsf"),
    RERANK_MODE: ("hybrid", CONFIGURED),
}

QueryProgress = Callable[[int, int], None]  # (queries run, queries to run), over all modes
EVERYTHING = Access.admin()  # an operator's evaluation sees every document


def evaluate(
    dataset: BeirDataset,
    embedder: Embedder,
    store: VectorStore,
    modes: Sequence[str] = MODES,
    k: int = 10,
    depth: int = 100,
    *,
    reranker: Reranker | None = None,
    live_versions: LiveVersions | None = None,
    access: Access = EVERYTHING,
    progress: QueryProgress | None = None,
    retrieval: RetrievalOptions | None = None,
) -> EvalReport:
    """Score each mode over `dataset`'s queries; a reranker adds the "hybrid+rerank" mode.

    `live_versions` (the catalog's) keeps only each document's current version, for gold sets
    run against the main collection; `access` narrows the search to what one asker may read;
    `retrieval` is the app's retrieval options (fusion, prefetch and rerank depths, per-document
    limit; app.services.retrieval_options), its reranker used by "hybrid+rerank" only.
    """
    modes = _checked_modes(modes, reranker, k, depth)
    options = replace(retrieval or RetrievalOptions(), reranker=reranker)
    searcher = _Searcher(embedder, store, depth, live_versions, access, options)
    total, done = len(modes) * len(dataset.queries), 0
    per_query: dict[str, list[QueryResult]] = {}
    for mode in modes:
        results = []
        for qid, text in dataset.queries.items():
            start = time.perf_counter()
            ranked = rank_documents(p.doc_id for p in searcher.search(text, mode))
            ms = (time.perf_counter() - start) * 1000
            results.append(_score(qid, ranked, dataset.qrels.get(qid, {}), k, depth, ms))
            done += 1
            if progress:
                progress(done, total)
        per_query[mode] = results
    summaries = [summarize(mode, per_query[mode]) for mode in modes]
    return EvalReport(dataset.name, k, depth, summaries, per_query, _setup(options, depth))


def _setup(options: RetrievalOptions, depth: int) -> dict[str, Any]:
    """What the hybrid modes ran with (prefetch: candidates per half, as the store took it)."""
    setup: dict[str, Any] = {
        "fusion": options.fusion,
        "prefetch": prefetch_depth(options.candidates(depth), options.prefetch),
    }
    if options.reranker is not None:
        setup |= {"reranker": options.reranker.name, "reranked": options.rerank_candidates}
    return setup


def _checked_modes(
    modes: Sequence[str], reranker: Reranker | None, k: int, depth: int
) -> list[str]:
    chosen = list(dict.fromkeys(modes))
    if reranker is not None and RERANK_MODE not in chosen:
        chosen.append(RERANK_MODE)
    unknown = [m for m in chosen if m not in SEARCH_MODES]
    if unknown:
        raise ValueError(f"unknown mode {unknown[0]!r}: choose from {', '.join(SEARCH_MODES)}")
    if RERANK_MODE in chosen and reranker is None:
        raise ValueError(f"mode {RERANK_MODE!r} needs a reranker")
    if not 1 <= k <= depth:
        raise ValueError(f"need 1 <= k ({k}) <= depth ({depth})")
    return chosen


def _score(
    qid: str, ranked: list[str], qrels: dict[str, int], k: int, depth: int, ms: float
) -> QueryResult:
    return QueryResult(
        query_id=qid,
        ranked=tuple(ranked[:k]),
        ndcg=ndcg_at_k(ranked, qrels, k),
        recall_k=recall_at_k(ranked, qrels, k),
        recall_depth=recall_at_k(ranked, qrels, depth),
        mrr=mrr_at_k(ranked, qrels, k),
        ms=ms,
    )


class _Searcher:
    """One query in one mode, through the product's `retrieve()`."""

    def __init__(
        self,
        embedder: Embedder,
        store: VectorStore,
        depth: int,
        live_versions: LiveVersions | None,
        access: Access,
        options: RetrievalOptions,
    ) -> None:
        self.embedder, self.store, self.depth = embedder, store, depth
        self.live_versions, self.access, self.options = live_versions, access, options

    def search(self, query: str, mode: str) -> list[Passage]:
        search_mode, fusion = SEARCH_MODES[mode]
        options = replace(
            self.options,
            fusion=fusion or self.options.fusion,
            reranker=self.options.reranker if mode == RERANK_MODE else None,
        )
        unused = [0.0] * self.embedder.dimension if search_mode == "sparse" else None
        return retrieve(
            query,
            embedder=self.embedder,
            store=self.store,
            limit=self.depth,
            live_versions=self.live_versions,
            mode=search_mode,
            access=self.access,
            question_vector=unused,  # a sparse search needs no embedding
            options=options,
        )
