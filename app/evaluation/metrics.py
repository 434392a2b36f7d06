"""Ranking metrics over document ids, as BEIR and trec_eval compute them.

`ranked` is the list of retrieved document ids, best first, each at most once (see
`rank_documents`: a document ranks where its best chunk ranks). `qrels` maps document ids to
graded relevance; a grade above 0 is relevant. Gains are linear in the grade with a log2
discount, and the ideal ranking comes from the judgments, not from what was retrieved.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence


def rank_documents(doc_ids: Iterable[str]) -> list[str]:
    """Document ids in order of their first (best) chunk, each once."""
    return list(dict.fromkeys(doc_ids))


def dcg(gains: Sequence[float]) -> float:
    """Discounted cumulative gain: the gain at rank i (1-based) divided by log2(i + 1)."""
    return sum(gain / math.log2(rank + 1) for rank, gain in enumerate(gains, start=1))


def ndcg_at_k(ranked: Sequence[str], qrels: Mapping[str, int], k: int) -> float:
    """nDCG@k with graded gains; 0.0 when nothing relevant is judged or retrieved."""
    ideal = dcg(sorted((g for g in qrels.values() if g > 0), reverse=True)[:k])
    if ideal == 0:
        return 0.0
    return dcg([max(qrels.get(doc, 0), 0) for doc in ranked[:k]]) / ideal


def recall_at_k(ranked: Sequence[str], qrels: Mapping[str, int], k: int) -> float:
    """Share of the relevant documents found in the first k."""
    relevant = {doc for doc, grade in qrels.items() if grade > 0}
    if not relevant:
        return 0.0
    return len(relevant.intersection(ranked[:k])) / len(relevant)


def mrr_at_k(ranked: Sequence[str], qrels: Mapping[str, int], k: int) -> float:
    """1 / rank of the first relevant document within the first k, else 0.0."""
    for rank, doc in enumerate(ranked[:k], start=1):
        if qrels.get(doc, 0) > 0:
            return 1.0 / rank
    return 0.0


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100), interpolating linearly between ranks (numpy's default)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def latency_summary(milliseconds: Sequence[float]) -> tuple[float, float]:
    """(p50, p95) of per-query latencies."""
    return percentile(milliseconds, 50), percentile(milliseconds, 95)


def mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else 0.0
