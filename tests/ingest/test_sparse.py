"""Sparse keyword vectors: terms, stable ids, saturated document weights, flat query weights."""

from __future__ import annotations

import threading
import zlib

import pytest

from ingest.sparse import encode_document, encode_query, term_id, terms


def weight(text: str, term: str) -> float:
    vector = encode_document(text)
    return vector.values[vector.indices.index(term_id(term))]


def test_stopwords_are_removed() -> None:
    assert terms("The policy of the company and its travel") == ["polici", "compani", "travel"]
    assert encode_query("the and of is to").indices == []
    assert encode_document("the and of is to").indices == []


def test_terms_are_lower_cased() -> None:
    assert terms("Budget BUDGET budget") == ["budget"] * 3


@pytest.mark.parametrize(
    ("inflected", "base"),
    [
        ("policies", "policy"),
        ("receipts", "receipt"),
        ("classes", "class"),
        ("booking", "book"),
        ("booked", "book"),
    ],
)
def test_inflected_forms_share_a_term(inflected: str, base: str) -> None:
    assert encode_query(inflected).indices == encode_query(base).indices
    assert terms(inflected) == terms(base)


def test_short_words_and_double_s_are_not_stemmed() -> None:
    assert terms("class gas bus") == ["class", "gas", "bus"]


def test_different_words_get_different_terms() -> None:
    assert encode_query("policy").indices != encode_query("budget").indices


def test_term_id_is_a_stable_31_bit_crc32() -> None:
    # crc32("policy") has bit 31 set; crc32("book") too, and is odd
    assert term_id("policy") == zlib.crc32(b"policy") & 0x7FFFFFFF == 1887241494
    assert term_id("book") == zlib.crc32(b"book") & 0x7FFFFFFF == 1273340721
    assert 0 <= term_id("ünïcode-wörd") < 2**31


def test_document_weights_saturate_with_repetition() -> None:
    once = weight("budget", "budget")
    ten_times = weight(" ".join(["budget"] * 10), "budget")

    assert once < ten_times < 10 * once


def test_repeated_term_outweighs_single_term_in_the_same_document() -> None:
    text = "budget " * 10 + "travel"

    assert weight(text, "travel") < weight(text, "budget") < 10 * weight(text, "travel")


def test_longer_documents_weigh_a_single_occurrence_less() -> None:
    short = weight("budget travel", "budget")
    long = weight("budget " + " ".join(f"filler{i}" for i in range(300)), "budget")

    assert long < short


def test_document_vector_is_sorted_unique_and_positive() -> None:
    vector = encode_document("Travel policies: book travel early; travel policy applies.")

    assert vector.indices == sorted(set(vector.indices))
    assert len(vector.values) == len(vector.indices)
    assert all(v > 0 for v in vector.values)
    expected = ("travel", "polici", "book", "earli", "appli")  # Snowball stems
    assert set(vector.indices) == {term_id(t) for t in expected}


def test_query_weights_are_one_and_indices_sorted_unique() -> None:
    vector = encode_query("travel policies for travel booking and policy")

    assert vector.indices == sorted(set(vector.indices))
    assert len(vector.indices) == 3  # travel, policy, book
    assert vector.values == [1.0, 1.0, 1.0]


def test_threads_encoding_at_once_get_the_same_terms() -> None:
    """The web app searches while it ingests: each thread needs its own stemmer."""
    text = "policies organizations running connected generalization relational hopefulness " * 5
    expected = encode_document(text)
    results: list[bool] = []

    def encode() -> None:
        results.extend(encode_document(text) == expected for _ in range(300))

    threads = [threading.Thread(target=encode) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [True] * 1200
