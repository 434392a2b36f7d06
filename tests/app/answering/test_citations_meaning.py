"""The citation check by meaning: shared words are not enough when the meaning differs."""

from __future__ import annotations

import math
from collections.abc import Sequence

import pytest

from app.answering.citations import resolve
from app.answering.support import SIMILARITY_THRESHOLD, WORDS_SUFFICE, claims
from tests.app.sample import passage
from tests.fakes import FakeEmbedder

ABROAD = passage(
    "Working from abroad\n\nYou may work remotely from another country for up to 15 working "
    "days per calendar year. Each stay abroad must be registered with the People Team."
)
HOTELS = passage(
    "3. Hotels\n\nHotel costs are reimbursed up to a nightly cap.\nLocation | Cap\n"
    "Standard | €150\nAmsterdam | €190\nLondon | €240"
)


class TopicEmbedder:
    """Vectors by topic: each text points along the topics whose words it contains, so
    "home" and "another country" are far apart whatever other words they share."""

    name = "fake-topics"
    dimension = 4
    max_tokens = 256
    TOPICS = (("home",), ("abroad", "another country"), ("hotel", "cap"), ("stay", "register"))

    def __init__(self) -> None:
        self.batches: list[list[str]] = []

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        self.batches.append(list(texts))
        return [self._vector(text.lower()) for text in texts]

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    def _vector(self, text: str) -> list[float]:
        vector = [float(any(word in text for word in topic)) for topic in self.TOPICS]
        norm = math.sqrt(sum(v * v for v in vector)) or 1.0
        return [v / norm for v in vector]


def test_without_an_embedder_only_words_and_numbers_are_checked() -> None:
    (claim,) = claims("You can work from home for up to 15 working days per year [1].", [ABROAD])
    assert claim.supported and claim.similarity is None


def test_a_claim_sharing_the_words_but_not_the_meaning_is_flagged() -> None:
    embedder = TopicEmbedder()
    sentence = "You can work from your home office for up to 15 days per calendar year [1]."
    _, citations, (claim,) = resolve(sentence, [ABROAD], embedder)
    assert claim.support >= 0.5  # the words alone would pass it
    assert claim.similarity is not None and claim.similarity < SIMILARITY_THRESHOLD
    assert not claim.supported and not citations[0].supported
    span_text = ABROAD.text[claim.span.start : claim.span.end] if claim.span else ""
    assert embedder.batches == [[sentence.removesuffix(" [1].") + ".", span_text]]


def test_a_claim_with_the_words_and_the_meaning_is_supported() -> None:
    sentence = "You may work remotely from another country for up to 15 working days [1]."
    _, citations, (claim,) = resolve(sentence, [ABROAD], TopicEmbedder())
    assert claim.supported and citations[0].supported
    assert claim.similarity == pytest.approx(1.0)


def test_a_claim_the_words_do_not_support_is_not_rescued_by_meaning() -> None:
    sentence = "Stays abroad are paid by the CEO in cash [1]."
    (claim,) = claims(sentence, [ABROAD])
    assert not claim.supported
    (checked,) = claims(sentence, [ABROAD], TopicEmbedder())
    assert checked.similarity is not None and checked.similarity >= SIMILARITY_THRESHOLD
    assert not checked.supported


def test_a_whole_passage_span_is_compared_line_by_line() -> None:
    """A table row is supported by the whole passage; its meaning may be in one line."""
    sentence = "Hotel costs in London are reimbursed up to €240 per night"
    (claim,) = claims(sentence + " [1].", [HOTELS], FakeEmbedder())
    assert claim.span is not None and (claim.span.start, claim.span.end) == (0, len(HOTELS.text))
    best_line = FakeEmbedder().embed([sentence + ".", "London | €240"])
    whole = FakeEmbedder().embed([sentence + ".", HOTELS.text])
    assert claim.similarity is not None
    assert claim.similarity == pytest.approx(max(_cosine(*best_line), _cosine(*whole)))


def test_claims_are_embedded_in_one_batch() -> None:
    embedder = FakeEmbedder()
    text = (
        "You may work remotely from another country for up to 15 working days [1]. "
        "Each stay abroad must be registered with the People Team [1]."
    )
    checked = claims(text, [ABROAD], embedder)
    assert len(checked) == 2 and len(embedder.batches) == 1
    assert all(c.similarity is not None for c in checked)


def _cosine(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


def test_a_sentence_whose_words_one_stretch_holds_needs_no_meaning_check() -> None:
    """Close paraphrases ("work from home" for "work remotely") score under the meaning
    threshold with MiniLM, so a sentence with >= 80% of its words (and all its numbers) in one
    stretch is supported by its words. The price: the same sentence about a passage on
    working abroad passes too (calibrate_support: 49/50 supported kept, 27/43 wrong passing,
    against 48/50 and 25/43 with the meaning check on every sentence)."""
    sentence = "You can work from home for up to 15 working days per calendar year [1]."
    _, _, (claim,) = resolve(sentence, [ABROAD], TopicEmbedder())
    assert claim.support >= WORDS_SUFFICE and claim.similarity is not None
    assert claim.similarity < SIMILARITY_THRESHOLD and claim.supported


HOME = passage(
    "Working from home\n\nYou can work from your home office for up to 15 days per calendar "
    "year, with your manager's approval."
)


def test_a_claim_its_cited_passage_does_not_mean_is_re_cited_to_the_one_that_does() -> None:
    model_text = "You can work from your home office for up to 15 days per calendar year [1]."
    final, citations, (claim,) = resolve(model_text, [ABROAD, HOME], TopicEmbedder())
    assert final == model_text.replace("[1]", "[2]")  # only the marker changed
    assert claim.supported and claim.numbers == (2,)
    assert [(c.number, c.by_model, c.supported) for c in citations] == [(2, False, True)]


def test_a_claim_no_passage_means_keeps_its_marker_and_its_flag() -> None:
    model_text = "You can work from your home office for up to 15 days per calendar year [1]."
    final, citations, (claim,) = resolve(model_text, [ABROAD, HOTELS], TopicEmbedder())
    assert final == model_text
    assert not claim.supported and not citations[0].supported


def test_a_span_of_two_entries_is_compared_with_each_of_them_too() -> None:
    """The stretch holding most of the words may join the entry that says it to the next one,
    which brings one more shared word and a meaning of its own ("-y: Overwrite output files
    without asking." beside "-n: Do not overwrite ... already exists.")."""
    both = passage("Rules\n\nStaff work from home on Fridays.\nHotel stays need approval.")
    sentence = "Staff work from home on Fridays with written manager approval [1]."
    (claim,) = claims(sentence, [both], TopicEmbedder())
    assert claim.span is not None
    spanned = both.text[claim.span.start : claim.span.end]
    assert spanned == "Staff work from home on Fridays.\nHotel stays need approval."
    assert WORDS_SUFFICE > claim.support >= 0.5
    assert claim.similarity == pytest.approx(1.0)  # the first entry's meaning is the claim's
    assert claim.supported
