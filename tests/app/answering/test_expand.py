"""Neighbour expansion and diversity, on small hand-made passages of one known text."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from app.answering.expand import diversify, first_chunks, merge_neighbours
from app.answering.retrieve import RetrievalOptions, retrieve
from app.answering.support import best_span
from app.services import Services
from ingest.pipeline import IngestOptions, ingest_paths
from ingest.types import Passage

# Chunks 0 and 1 share "The hotel cap is 240 EUR."; chunk 2 starts after the blank line that
# ends the first section; chunk 3 overlaps chunk 2; chunk 4 lies inside chunk 3.
TEXT = (
    "Trains are preferred under four hours. "  # from 0
    "The hotel cap is 240 EUR. "  # from 39
    "Meals are refunded daily.\n\n"  # from 65
    "Expenses\n"  # from 92
    "Submit receipts within thirty days. "  # from 101
    "Late claims need a manager."  # from 137, to 164
)
SPANS = [(0, 64), (39, 90), (92, 136), (101, 164), (137, 164)]
HEADINGS = [("Travel",), ("Travel",), ("Travel", "Expenses"), ("Travel", "Expenses"), ("Travel",)]


def chunk(index: int, score: float = 1.0, *, doc: str = "d1", version: str = "v1") -> Passage:
    start, end = SPANS[index]
    return Passage(
        point_id=f"{doc}-{version}-{index}",
        doc_id=doc,
        chunk_index=index,
        text=TEXT[start:end],
        title="Handbook",
        source=f"/docs/{doc}.md",
        headings=HEADINGS[index],
        page_start=index + 1,
        page_end=index + 1,
        start=start,
        end=end,
        score=score,
        version=version,
    )


def test_overlapping_neighbours_become_one_span_of_the_text() -> None:
    [merged] = merge_neighbours([chunk(1, 0.9), chunk(0, 0.8)])
    assert (merged.start, merged.end) == (0, 90)
    assert merged.text == TEXT[0:90]  # the overlap once, not twice
    assert merged.text.count("The hotel cap is 240 EUR.") == 1
    assert (merged.chunk_index, merged.point_id, merged.score) == (0, "d1-v1-1", 0.9)
    assert (merged.page_start, merged.page_end) == (1, 2)


def test_a_gap_between_neighbours_keeps_the_offsets_true() -> None:
    [merged] = merge_neighbours([chunk(1), chunk(2)])
    assert (merged.start, merged.end) == (39, 136)
    assert len(merged.text) == merged.end - merged.start
    assert merged.text == TEXT[39:136]  # the gap here was the blank line: written as one
    assert merged.headings == ("Travel",)  # what both parts sit under


def test_citation_spans_point_into_the_merged_text_and_the_document() -> None:
    [merged] = merge_neighbours([chunk(2), chunk(3), chunk(1)])
    sentence = "Late claims need a manager's approval"
    span, support = best_span(sentence, merged.text)
    assert span is not None and support >= 0.5
    assert 0 <= span.start < span.end <= len(merged.text)
    cited = merged.text[span.start : span.end]
    assert cited == "Late claims need a manager."
    absolute = merged.start + span.start
    assert TEXT[absolute : absolute + len(cited)] == cited


@pytest.mark.parametrize(
    "others",
    [
        [chunk(2)],  # not adjacent to chunk 0
        [chunk(1, doc="d2")],  # another document
        [chunk(1, version="v0")],  # another version of the same document
    ],
)
def test_only_adjacent_chunks_of_one_document_version_merge(others: list[Passage]) -> None:
    found = [chunk(0), *others]
    assert merge_neighbours(found) == found


def test_a_merged_passage_takes_the_rank_of_its_best_part() -> None:
    found = [chunk(3, 0.9, doc="d2"), chunk(2, 0.8), chunk(0, 0.7, doc="d3"), chunk(1, 0.6)]
    merged = merge_neighbours(found)
    assert [(p.doc_id, p.chunk_index) for p in merged] == [("d2", 3), ("d1", 1), ("d3", 0)]
    assert merged[1].text == TEXT[39:136]
    assert merged[1].score == 0.8


def test_runs_stop_at_the_chunk_limit_growing_towards_the_better_side() -> None:
    found = [chunk(2, 0.9), chunk(3, 0.8), chunk(1, 0.7), chunk(0, 0.6), chunk(4, 0.5)]
    merged = merge_neighbours(found, max_chunks=3)
    # chunk 0 stays alone (its neighbour is taken); chunk 4 repeats text shown already
    assert [(p.start, p.end) for p in merged] == [(39, 164), (0, 64)]
    assert merged[0].text == TEXT[39:164]
    assert merged[1] == chunk(0, 0.6)


def test_a_chunk_inside_its_neighbour_adds_nothing() -> None:
    [merged] = merge_neighbours([chunk(3), chunk(4)])
    assert merged.text == TEXT[101:164] and (merged.start, merged.end) == (101, 164)


def test_single_passages_are_returned_as_they_were() -> None:
    found = [chunk(0), chunk(2), replace(chunk(4), doc_id="d9")]
    assert merge_neighbours(found) == found
    assert merge_neighbours([]) == []


def test_a_joined_passage_knows_its_chunks_and_its_closest_one() -> None:
    found = [chunk(1, 0.9), chunk(0, 0.8), chunk(2, 0.7), chunk(4, 0.6, doc="d2")]
    found = [replace(c, similarity=s) for c, s in zip(found, (0.5, 0.7, 0.6, 0.4), strict=True)]
    merged = merge_neighbours(found)
    assert merged[0].chunk_spans == ((0, 64), (39, 90), (92, 136))
    assert merged[1].chunk_spans == ()
    assert merged[0].text == TEXT[0:136] and merged[0].score == 0.9
    assert [p.similarity for p in merged] == [0.7, 0.4]  # the evidence of its closest chunk


def test_the_limit_counts_chunks_so_joining_never_adds_text() -> None:
    joined = merge_neighbours([chunk(1, 0.9), chunk(0, 0.8)])[0]  # two chunks
    single = [chunk(i, doc=f"s{i}") for i in range(4)]
    assert first_chunks([joined, *single], 3) == [joined, single[0]]
    assert first_chunks([single[0], single[1], joined, single[2]], 3) == single[:3]
    assert first_chunks([joined, *single], 1) == [joined]  # the best passage, whatever its size
    assert first_chunks([], 3) == []


def test_diversity_lets_other_documents_in_before_a_crowding_one() -> None:
    found = [
        chunk(0, doc="a"),
        chunk(2, doc="a"),
        chunk(4, doc="a"),
        chunk(0, doc="b"),
        chunk(3, doc="a"),
        chunk(1, doc="c"),
    ]
    capped = diversify(found, max_per_document=2)
    assert [(p.doc_id, p.chunk_index) for p in capped] == [
        ("a", 0),
        ("a", 2),
        ("b", 0),
        ("c", 1),
        ("a", 4),
        ("a", 3),
    ]
    assert diversify(found, max_per_document=0) == found
    alone = [chunk(i, doc="a") for i in (0, 2, 4)]
    assert diversify(alone, max_per_document=1) == alone  # nothing else to let in


# --- in retrieval -----------------------------------------------------------------------


@pytest.fixture
def kb(services: Services, tmp_path: Path) -> Services:
    long = " ".join(
        f"Hotel rule {n}: the hotel cap in city {n} is {100 + n} EUR." for n in range(30)
    )
    (tmp_path / "hotels.md").write_text(f"# Hotels\n\n{long}\n")
    (tmp_path / "trains.md").write_text("# Trains\n\nTrains to a hotel are refunded in full.\n")
    (tmp_path / "meals.md").write_text("# Meals\n\nMeals at the hotel are refunded daily.\n")
    ingest_paths(
        [tmp_path / name for name in ("hotels.md", "trains.md", "meals.md")],
        embedder=services.embedder,
        store=services.store,
        catalog=services.catalog,
        options=IngestOptions(chunk_tokens=40, chunk_overlap=8),
    )
    return services


def _retrieve(kb: Services, options: RetrievalOptions) -> list[Passage]:
    return retrieve(
        "hotel cap EUR rule city",
        embedder=kb.embedder,
        store=kb.store,
        limit=4,
        live_versions=kb.catalog.live_versions,
        options=options,
    )


def test_retrieval_merges_neighbours_into_true_spans(kb: Services) -> None:
    plain = _retrieve(kb, RetrievalOptions(merge_neighbours=False, max_per_document=0))
    assert {Path(p.source).name for p in plain} == {"hotels.md"}  # one document crowds in
    merged = _retrieve(kb, RetrievalOptions(max_per_document=0))
    record = next(r for r in kb.catalog.all() if r.source.endswith("hotels.md"))
    chunks = kb.store.document_chunks(record.doc_id, record.version)
    assert any(p.end - p.start > max(c.end - c.start for c in chunks) for p in merged)
    assert sum(len(p.chunk_spans) or 1 for p in merged) <= 4  # the limit counts chunks
    spans = {span for p in merged for span in (p.chunk_spans or ((p.start, p.end),))}
    assert spans <= {(c.start, c.end) for c in chunks}
    for p in merged:
        assert len(p.text) == p.end - p.start
        inside = [c for c in chunks if p.start <= c.start and c.end <= p.end]
        assert inside and all(p.text[c.start - p.start : c.end - p.start] == c.text for c in inside)


def test_retrieval_lets_other_documents_in(kb: Services) -> None:
    found = _retrieve(kb, RetrievalOptions(merge_neighbours=False, max_per_document=2))
    names = [Path(p.source).name for p in found]
    assert names[:2] == ["hotels.md", "hotels.md"]
    assert set(names[2:]) == {"trains.md", "meals.md"}
