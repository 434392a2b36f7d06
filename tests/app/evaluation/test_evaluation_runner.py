"""Indexing a benchmark corpus and running its queries: FakeEmbedder, real in-memory Qdrant."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path

import pytest

from app.answering.retrieve import RetrievalOptions
from app.evaluation.beir import BeirDataset, load_beir
from app.evaluation.index import (
    IndexOptions,
    collection_name,
    index_corpus,
)
from app.evaluation.runner import RERANK_MODE, evaluate
from ingest.pipeline import CHUNKER_VERSION
from ingest.planning import point_id
from ingest.sparse import VERSION as SPARSE_VERSION
from ingest.sparse import encode_query
from ingest.store import QdrantStore
from ingest.types import Passage
from tests.app.data.evaluation import write_tiny_beir
from tests.fakes import FakeEmbedder

OPTIONS = IndexOptions(chunk_tokens=20, chunk_overlap=4)


@pytest.fixture
def dataset(tmp_path: Path) -> BeirDataset:
    return load_beir(write_tiny_beir(tmp_path))


@pytest.fixture
def indexed(
    dataset: BeirDataset, embedder: FakeEmbedder, store: QdrantStore, tmp_path: Path
) -> QdrantStore:
    index_corpus(dataset, embedder, store, tmp_path / "eval" / "tiny.json", OPTIONS)
    return store


class ReversingReranker:
    """Scores each passage higher than the one before it, so the order is reversed; records
    the documents of the passages it was asked about."""

    name = "reversing"

    def __init__(self, indexed: QdrantStore) -> None:
        self.calls: list[tuple[str, list[str]]] = []
        self._doc_of = {p.text: p.doc_id for p in _everything(indexed)}

    def score(self, query: str, texts: Sequence[str]) -> list[float]:
        self.calls.append((query, [self._doc_of[t] for t in texts]))
        return [float(i) for i in range(len(texts))]


def test_collection_is_named_after_dataset_model_chunking_and_encoders() -> None:
    options = IndexOptions(200, 30)
    versions = f"s{SPARSE_VERSION}c{CHUNKER_VERSION}"
    assert collection_name("scifact", "all-MiniLM-L6-v2", options) == (
        f"eval-scifact-all-MiniLM-L6-v2-200-30-{versions}"
    )
    assert (
        collection_name("x", "/models/my model/", options) == f"eval-x-my-model-200-30-{versions}"
    )


def test_each_document_is_chunked_with_its_title_first(
    indexed: QdrantStore, dataset: BeirDataset
) -> None:
    chunks = indexed.document_chunks("d3", "eval")
    assert len(chunks) > 1  # long enough for several chunks of 20 words
    assert chunks[0].text.startswith("Sourdough bread\n\nSourdough rises")
    assert {c.title for c in chunks} == {"Sourdough bread"}
    assert [c.point_id for c in chunks] == [point_id("d3", "eval", i) for i in range(len(chunks))]
    assert {p.doc_id for p in _everything(indexed)} == set(dataset.corpus)


def test_sparse_mode_ranks_the_exact_keyword_documents_first(
    indexed: QdrantStore, dataset: BeirDataset, embedder: FakeEmbedder
) -> None:
    report = evaluate(dataset, embedder, indexed, modes=("sparse",))
    results = {r.query_id: r for r in report.per_query["sparse"]}
    assert results["q1"].ndcg == 1.0
    assert results["q1"].ranked[0] == "d1"
    assert results["q2"].ndcg == 1.0
    # "warm water and coral bleaching": d4 (grade 2) first; d5 (grade 1) says "warmer", no match
    assert results["q3"].ranked[0] == "d4"
    assert "d5" not in results["q3"].ranked
    assert results["q3"].ndcg == pytest.approx(2 / (2 + 1 / math.log2(3)))
    assert results["q3"].recall_k == 0.5
    summary = report.summary("sparse")
    assert summary.queries == 3
    assert summary.ndcg == pytest.approx((2 + 2 / (2 + 1 / math.log2(3))) / 3)


def test_every_mode_runs_every_judged_query_once_per_document(
    indexed: QdrantStore, dataset: BeirDataset, embedder: FakeEmbedder
) -> None:
    embedder.batches.clear()
    report = evaluate(dataset, embedder, indexed, k=3, depth=50)
    assert [s.mode for s in report.summaries] == ["dense", "sparse", "hybrid"]
    for mode, results in report.per_query.items():
        assert [r.query_id for r in results] == ["q1", "q2", "q3"], mode
        for result in results:
            assert len(result.ranked) == len(set(result.ranked)) <= 3
            assert result.ms > 0
    assert report.summary("hybrid").ndcg > 0.9
    assert report.summary("dense").p50_ms <= report.summary("dense").p95_ms
    # the query is embedded for dense and hybrid only, one question at a time
    assert embedder.batches == [[q] for q in dataset.queries.values()] * 2


def test_a_document_counts_once_however_many_chunks_match(
    indexed: QdrantStore, embedder: FakeEmbedder
) -> None:
    query = "sourdough starter yeast"
    found = indexed.search(embedder.embed([query])[0], encode_query(query), 20, mode="sparse")
    assert [p.doc_id for p in found[:2]] == ["d3", "d3"]
    dataset = BeirDataset("bread", {}, {"s": query}, {"s": {"d3": 1}})
    result = evaluate(dataset, embedder, indexed, modes=("sparse",)).per_query["sparse"][0]
    assert result.ranked == ("d3",)  # no other document mentions any of the words
    assert result.mrr == 1.0


def test_a_reranker_adds_a_mode_that_scores_its_order(
    indexed: QdrantStore, dataset: BeirDataset, embedder: FakeEmbedder
) -> None:
    reranker = ReversingReranker(indexed)
    report = evaluate(
        dataset,
        embedder,
        indexed,
        modes=("hybrid",),
        reranker=reranker,
        retrieval=RetrievalOptions(rerank_candidates=50),
    )
    assert [s.mode for s in report.summaries] == ["hybrid", RERANK_MODE]
    assert [query for query, _ in reranker.calls] == list(dataset.queries.values())
    hybrid = {r.query_id: r for r in report.per_query["hybrid"]}
    reranked = {r.query_id: r for r in report.per_query[RERANK_MODE]}
    for (_, asked), qid in zip(reranker.calls, hybrid, strict=True):
        assert tuple(dict.fromkeys(asked))[:10] == hybrid[qid].ranked
        assert reranked[qid].ranked == tuple(dict.fromkeys(reversed(asked)))[:10]
    assert report.summary(RERANK_MODE).mrr < report.summary("hybrid").mrr


@pytest.mark.parametrize(
    ("modes", "message"),
    [(("semantic",), "unknown mode 'semantic'"), ((RERANK_MODE,), "needs a reranker")],
)
def test_bad_modes_are_refused(
    indexed: QdrantStore,
    dataset: BeirDataset,
    embedder: FakeEmbedder,
    modes: tuple[str],
    message: str,
) -> None:
    with pytest.raises(ValueError, match=message):
        evaluate(dataset, embedder, indexed, modes=modes)


def test_second_index_reuses_the_collection_and_embeds_nothing(
    dataset: BeirDataset, store: QdrantStore, tmp_path: Path
) -> None:
    manifest = tmp_path / "eval" / "tiny.json"
    steps: list[tuple[int, int]] = []
    first = index_corpus(
        dataset, FakeEmbedder(), store, manifest, OPTIONS, lambda d, c: steps.append((d, c))
    )
    assert steps[0] == (0, 0) and steps[-1] == (5, first.chunks)
    again = FakeEmbedder()
    second = index_corpus(dataset, again, store, manifest, OPTIONS)
    assert not first.reused and second.reused
    assert second.chunks == first.chunks == store.count()
    assert again.batches == []
    recorded = json.loads(manifest.read_text())
    assert recorded["documents"] == 5 and recorded["chunks"] == first.chunks


def test_a_lost_collection_is_indexed_again(
    dataset: BeirDataset, store: QdrantStore, tmp_path: Path
) -> None:
    manifest = tmp_path / "eval" / "tiny.json"
    index_corpus(dataset, FakeEmbedder(), store, manifest, OPTIONS)
    fresh = QdrantStore("tiny", path=None)  # same manifest, empty store
    try:
        embedder = FakeEmbedder()
        result = index_corpus(dataset, embedder, fresh, manifest, OPTIONS)
        assert not result.reused and embedder.batches
        assert fresh.count() == result.chunks
    finally:
        fresh.close()


def test_changed_corpus_replaces_the_whole_collection(
    dataset: BeirDataset, store: QdrantStore, tmp_path: Path
) -> None:
    manifest = tmp_path / "eval" / "tiny.json"
    index_corpus(dataset, FakeEmbedder(), store, manifest, OPTIONS)
    smaller = BeirDataset("tiny", {"d1": dataset.corpus["d1"]}, {}, {})
    result = index_corpus(smaller, FakeEmbedder(), store, manifest, OPTIONS)
    assert not result.reused
    assert store.count() == result.chunks == 1  # nothing left of d2..d5
    assert json.loads(manifest.read_text())["documents"] == 1


def test_another_encoder_version_in_the_manifest_means_indexing_again(
    dataset: BeirDataset, store: QdrantStore, tmp_path: Path
) -> None:
    manifest = tmp_path / "eval" / "tiny.json"
    index_corpus(dataset, FakeEmbedder(), store, manifest, OPTIONS)
    recorded = json.loads(manifest.read_text())
    del recorded["sparse"]  # written before the sparse encoder had a version
    manifest.write_text(json.dumps(recorded))
    embedder = FakeEmbedder()
    assert not index_corpus(dataset, embedder, store, manifest, OPTIONS).reused
    assert embedder.batches


def _everything(store: QdrantStore) -> list[Passage]:
    return [p for doc in ("d1", "d2", "d3", "d4", "d5") for p in store.document_chunks(doc, "eval")]
