"""Ranking metrics against numbers worked out by hand."""

from __future__ import annotations

import math

import pytest

from app.evaluation.metrics import (
    dcg,
    latency_summary,
    mean,
    mrr_at_k,
    ndcg_at_k,
    percentile,
    rank_documents,
    recall_at_k,
)


def test_a_document_ranks_where_its_best_chunk_ranks() -> None:
    assert rank_documents(["a", "b", "a", "c", "b"]) == ["a", "b", "c"]


def test_dcg_discounts_by_log2_of_rank_plus_one() -> None:
    assert dcg([3, 2, 1]) == pytest.approx(3 + 2 / math.log2(3) + 1 / 2)


def test_ndcg_uses_graded_gains_and_the_ideal_from_the_judgments() -> None:
    # retrieved gains 1, 0, 2 -> DCG = 1/1 + 0 + 2/2 = 2
    # judged grades 2, 1, 1 (d is judged but never retrieved) -> IDCG = 2 + 1/log2(3) + 1/2
    qrels = {"a": 1, "c": 2, "d": 1}
    assert ndcg_at_k(["a", "b", "c"], qrels, 3) == pytest.approx(2 / 3.1309297535714573)
    assert ndcg_at_k(["a", "b", "c"], qrels, 3) == pytest.approx(0.638788, abs=1e-6)


def test_ndcg_is_one_for_the_ideal_order_and_lower_for_a_swap() -> None:
    qrels = {"a": 2, "b": 1}
    assert ndcg_at_k(["a", "b", "x"], qrels, 10) == 1.0
    swapped = (1 + 2 / math.log2(3)) / (2 + 1 / math.log2(3))
    assert ndcg_at_k(["b", "a"], qrels, 10) == pytest.approx(swapped)


def test_ndcg_is_zero_when_nothing_relevant_is_retrieved_within_k() -> None:
    assert ndcg_at_k(["x", "y", "z"], {"a": 1}, 10) == 0.0
    assert ndcg_at_k([*"bcdefghijk", "a"], {"a": 1}, 10) == 0.0  # a is 11th
    assert ndcg_at_k(["a"], {}, 10) == 0.0
    assert ndcg_at_k([], {"a": 1}, 10) == 0.0


def test_ndcg_ignores_grade_zero_judgments() -> None:
    assert ndcg_at_k(["z", "a"], {"z": 0, "a": 1}, 10) == pytest.approx(1 / math.log2(3))


def test_recall_counts_relevant_documents_within_k() -> None:
    qrels = {"a": 1, "b": 2, "c": 0}  # c is judged not relevant
    assert recall_at_k(["x", "a", "c"], qrels, 2) == 0.5
    assert recall_at_k(["x", "a", "c", "b"], qrels, 3) == 0.5
    assert recall_at_k(["x", "a", "c", "b"], qrels, 4) == 1.0
    assert recall_at_k(["x"], qrels, 10) == 0.0


def test_mrr_is_the_inverse_rank_of_the_first_relevant_document() -> None:
    qrels = {"a": 1, "b": 1}
    assert mrr_at_k(["x", "y", "a", "b"], qrels, 10) == pytest.approx(1 / 3)
    assert mrr_at_k(["b"], qrels, 10) == 1.0
    assert mrr_at_k(["x", "y", "a"], qrels, 2) == 0.0


def test_percentiles_interpolate_between_ranks() -> None:
    assert percentile([40, 10, 30, 20], 50) == 25.0
    assert percentile([10, 20, 30, 40], 95) == pytest.approx(38.5)  # 30 + 0.85 * 10
    assert percentile([10, 20, 30, 40], 100) == 40.0
    assert latency_summary([7.0]) == (7.0, 7.0)
    assert latency_summary([]) == (0.0, 0.0)


def test_mean_of_nothing_is_zero() -> None:
    assert mean([]) == 0.0
    assert mean([1.0, 2.0]) == 1.5
