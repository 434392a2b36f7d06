"""Sparse keyword vectors for BM25-style search inside Qdrant.

Documents get BM25's saturated term frequency; Qdrant's IDF modifier supplies the inverse
document frequency at query time, so one collection serves dense and keyword search.
"""

from __future__ import annotations

import re
import threading
import zlib
from collections import Counter
from typing import Any

from ingest.types import SparseVector

K1 = 1.2
B = 0.75
VERSION = "2"  # part of the ingest fingerprint: a new encoding means new stored vectors
AVERAGE_LENGTH = 120.0  # words in a typical chunk; keeps document vectors independent
_TOKEN = re.compile(r"[a-z0-9]+(?:['.-][a-z0-9]+)*")
_STOPWORD_TEXT = """
    a an and are as at be but by for from has have he her his i if in into is it its me my
    no not of on or our she so than that the their them then there these they this to was we
    were what when where which who why will with you your do does did can could should would
    about after all also any been before being both each how more most other over same some
    such only own very just"""
STOPWORDS = frozenset(_STOPWORD_TEXT.split())
_local = threading.local()


def terms(text: str) -> list[str]:
    """Lower-cased words without stopwords, Snowball-stemmed ("policies" -> "polici")."""
    stemmed: list[str] = _stemmer().stemWords(words(text))
    return stemmed


def words(text: str) -> list[str]:
    """The words `terms` stems, in order: lower-cased, without stopwords."""
    return [t for t in _TOKEN.findall(text.lower()) if t not in STOPWORDS]


def _stemmer() -> Any:
    """This thread's stemmer: a Snowball stemmer keeps its work in itself, so one shared by
    threads (the web app searches while it ingests) returns wrong stems or raises."""
    stemmer = getattr(_local, "stemmer", None)
    if stemmer is None:
        import snowballstemmer

        stemmer = _local.stemmer = snowballstemmer.stemmer("english")
    return stemmer


def term_id(term: str) -> int:
    """A stable 31-bit id for a term (same in every process and run)."""
    return zlib.crc32(term.encode("utf-8")) & 0x7FFFFFFF


def encode_document(text: str) -> SparseVector:
    counts = Counter(term_id(t) for t in terms(text))
    length = sum(counts.values())
    norm = K1 * (1 - B + B * length / AVERAGE_LENGTH)
    indices = sorted(counts)
    values = [counts[i] * (K1 + 1) / (counts[i] + norm) for i in indices]
    return SparseVector(indices=indices, values=values)


def encode_query(text: str) -> SparseVector:
    indices = sorted({term_id(t) for t in terms(text)})
    return SparseVector(indices=indices, values=[1.0] * len(indices))
