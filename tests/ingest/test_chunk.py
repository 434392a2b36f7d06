"""Chunking on plain strings, with a word-count token counter."""

from __future__ import annotations

import itertools
import random
import re

import pytest

from ingest.chunk import chunk_elements, document_text, embedding_text, heading_paths
from ingest.types import Chunk, Element


def words(text: str) -> int:
    return len(text.split())


def title(text: str, depth: int | None = None, page: int | None = None) -> Element:
    return Element(text=text, kind="Title", page=page, depth=depth)


def para(text: str, page: int | None = None, kind: str = "NarrativeText") -> Element:
    return Element(text=text, kind=kind, page=page)


def spans(elements: list[Element]) -> list[tuple[int, int]]:
    """Where each element sits in the document text (elements joined by a blank line)."""
    result = []
    position = 0
    for element in elements:
        result.append((position, position + len(element.text)))
        position += len(element.text) + len("\n\n")
    return result


def overlapping(elements: list[Element], chunk: Chunk) -> list[Element]:
    """The non-empty elements whose text the chunk's span touches."""
    return [
        element
        for element, (start, end) in zip(elements, spans(elements), strict=True)
        if element.text.strip() and start < chunk.end and end > chunk.start
    ]


def table(*rows: str, page: int | None = None) -> Element:
    return Element(text="\n".join(rows), kind="Table", page=page)


def reference_paths(elements: list[Element]) -> list[tuple[str, ...]]:
    """Heading path of each element: deeper titles nest, same-or-shallower titles replace."""
    stack: list[tuple[int, str]] = []
    paths = []
    for element in elements:
        if element.kind == "Title":
            depth = element.depth or 0
            stack = [(d, t) for d, t in stack if d < depth] + [(depth, element.text)]
        paths.append(tuple(t for _, t in stack))
    return paths


def sentence(n: int, serial: list[int]) -> str:
    serial[0] += 1
    return " ".join(f"w{serial[0]}x{i}" for i in range(n)) + "."


def random_table(rng: random.Random, serial: list[int], page: int) -> Element:
    serial[0] += 1
    width = rng.randint(1, 4)
    rows = [
        " | ".join(f"t{serial[0]}r{r}c{c}" for c in range(width)) for r in range(rng.randint(1, 12))
    ]
    return table(*rows, page=page)


def random_document(rng: random.Random) -> list[Element]:
    serial = [0]
    elements: list[Element] = []
    page = 1
    for _ in range(rng.randint(3, 25)):
        page += rng.random() < 0.3
        roll = rng.random()
        if roll < 0.25:
            serial[0] += 1
            elements.append(title(f"Heading {serial[0]}", depth=rng.choice([1, 2, 3]), page=page))
        elif roll < 0.3:
            elements.append(para(rng.choice(["", "   ", "\n"]), page=page))
        elif roll < 0.36:  # one giant sentence without punctuation
            serial[0] += 1
            elements.append(para(" ".join(f"g{serial[0]}x{i}" for i in range(80)), page=page))
        elif roll < 0.45:
            elements.append(random_table(rng, serial, page))
        else:
            count = rng.randint(1, 6)
            sentences = [sentence(rng.randint(1, 15), serial) for _ in range(count)]
            elements.append(para(" ".join(sentences), page=page))
    return elements


def expected_headings(touched: list[Element], paths: list[tuple[str, ...]]) -> tuple[str, ...]:
    """Common prefix of the paths; a heading counts only through the element under it after it."""
    kept = []
    for element, after in zip(touched, [*touched[1:], None], strict=True):
        path = paths[id(element)]
        if element.is_heading and after is not None and paths[id(after)][: len(path)] == path:
            continue
        kept.append(path)
    shared = kept[0]
    for path in kept[1:]:
        same = [a == b for a, b in zip(shared, path, strict=False)]
        shared = shared[: same.index(False) if False in same else len(same)]
    return shared


def check_sections_cross_only_when_small(
    elements: list[Element], chunk: Chunk, text: str, small: int
) -> None:
    """A heading inside a chunk borders a section (in the chunk) that is bare or under `small`."""
    located = list(zip(elements, spans(elements), strict=True))
    inner = [s for e, (s, _) in located if e.is_heading and chunk.start < s < chunk.end]
    cuts = [chunk.start, *inner, chunk.end]
    for before_start, boundary, after_end in zip(cuts, cuts[1:], cuts[2:], strict=False):
        before = [
            e for e, (s, t) in located if e.text.strip() and s < boundary and t > before_start
        ]
        bare = all(e.is_heading for e in before)
        small_side = min(words(text[before_start:boundary]), words(text[boundary:after_end]))
        assert bare or small_side < small, chunk.text


def check_tables_cut_between_rows(elements: list[Element], chunk: Chunk, max_tokens: int) -> None:
    """A table piece is whole rows; one without the header row carries it as context."""
    tables = [
        (e, start, end)
        for e, (start, end) in zip(elements, spans(elements), strict=True)
        if e.kind == "Table" and start < chunk.end and end > chunk.start
    ]
    if not tables:
        assert chunk.context == ""
    for element, start, end in tables:
        rows = element.text.split("\n")
        if max(words(row) for row in rows) > max_tokens:
            continue  # a row over the whole budget is the one thing cut inside
        edges = list(itertools.accumulate(len(row) + 1 for row in rows))
        if chunk.start > start:
            assert chunk.start - start in [0, *edges]
            assert chunk.context == rows[0]
        else:
            assert chunk.context == ""
        if chunk.end < end:
            assert chunk.end - start + 1 in edges


@pytest.mark.parametrize("seed", range(60))
def test_random_documents_keep_every_invariant(seed: int) -> None:
    rng = random.Random(seed)
    elements = random_document(rng)
    max_tokens = rng.randint(4, 40)
    overlap = rng.randint(0, max_tokens - 1)
    min_tokens = rng.choice([None, 0, rng.randint(1, max_tokens)])
    small = max_tokens // 4 if min_tokens is None else min_tokens
    text = document_text(elements)

    chunks = chunk_elements(elements, words, max_tokens, overlap, min_tokens=min_tokens)

    assert text == "\n\n".join(e.text for e in elements)
    assert [c.index for c in chunks] == list(range(len(chunks)))
    paths = {id(e): path for e, path in zip(elements, reference_paths(elements), strict=True)}
    for chunk in chunks:
        assert words(chunk.text) <= max_tokens
        assert chunk.text == text[chunk.start : chunk.end]
        assert chunk.text.strip()
        touched = overlapping(elements, chunk)
        assert chunk.headings == expected_headings(touched, paths)
        check_sections_cross_only_when_small(elements, chunk, text, small)
        check_tables_cut_between_rows(elements, chunk, max_tokens)
        pages = [e.page for e in touched if e.page is not None]
        assert (chunk.page_start, chunk.page_end) == (min(pages), max(pages))
    # nothing is lost: every non-blank character is inside some chunk
    covered = [False] * len(text)
    for chunk in chunks:
        covered[chunk.start : chunk.end] = [True] * (chunk.end - chunk.start)
    missing = [i for i, ch in enumerate(text) if not ch.isspace() and not covered[i]]
    assert not missing, text[missing[0] : missing[0] + 40]


def test_small_document_is_one_chunk_with_its_exact_text() -> None:
    elements = [para("Alpha beta gamma."), para("Delta epsilon.", kind="ListItem")]

    chunks = chunk_elements(elements, words, max_tokens=50, overlap=5)

    assert len(chunks) == 1
    assert chunks[0].text == "Alpha beta gamma.\n\nDelta epsilon."
    assert (chunks[0].start, chunks[0].end) == (0, len(chunks[0].text))
    assert chunks[0].kinds == ("NarrativeText", "ListItem")
    assert chunks[0].headings == ()


def test_chunks_never_span_two_sections_that_are_not_small() -> None:
    elements = [
        title("Intro", depth=1),
        para("one two three"),
        title("Usage", depth=1),
        para("four five six"),
    ]

    chunks = chunk_elements(elements, words, max_tokens=100, overlap=10, min_tokens=0)

    assert [c.text for c in chunks] == ["Intro\n\none two three", "Usage\n\nfour five six"]
    assert [c.headings for c in chunks] == [("Intro",), ("Usage",)]


def test_heading_paths_follow_depth() -> None:
    elements = [
        title("Guide", depth=1),
        para("guide text here"),
        title("Booking", depth=2),
        para("booking text here"),
        title("Expenses", depth=1),
        para("expenses text here"),
    ]

    assert heading_paths(elements) == [
        ("Guide",),
        ("Guide",),
        ("Guide", "Booking"),
        ("Guide", "Booking"),
        ("Expenses",),
        ("Expenses",),
    ]
    chunks = chunk_elements(elements, words, max_tokens=100, overlap=0, min_tokens=0)
    by_text = {c.text.split("\n\n")[-1]: c.headings for c in chunks}
    assert by_text == {
        "guide text here": ("Guide",),
        "booking text here": ("Guide", "Booking"),
        "expenses text here": ("Expenses",),
    }


def test_sibling_heading_replaces_its_sibling_but_keeps_the_parent() -> None:
    elements = [title("A", 1), title("B", 2), title("C", 3), title("D", 2), para("body")]

    assert heading_paths(elements)[-1] == ("A", "D")


def test_long_paragraph_is_split_at_sentence_boundaries() -> None:
    sentences = [
        f"Sentence {name} has exactly six words."
        for name in ("one", "two", "three", "four", "five", "six", "seven")
    ]
    elements = [para(" ".join(sentences))]

    chunks = chunk_elements(elements, words, max_tokens=13, overlap=0)

    assert len(chunks) > 1
    seen = []
    for chunk in chunks:
        assert words(chunk.text) <= 13
        parts = re.split(r"(?<=\.)\s+", chunk.text)
        assert all(part in sentences for part in parts), chunk.text
        seen.extend(parts)
    assert seen == sentences


def test_giant_sentence_is_split_into_word_windows_within_budget() -> None:
    tokens = [f"word{i}" for i in range(53)]
    elements = [para(" ".join(tokens))]

    chunks = chunk_elements(elements, words, max_tokens=8, overlap=0)

    assert len(chunks) == 7  # ceil(53 / 8)
    assert all(words(c.text) <= 8 for c in chunks)
    assert " ".join(c.text for c in chunks).split() == tokens


def test_consecutive_chunks_in_a_section_share_text_when_overlap_is_set() -> None:
    elements = [para(f"p{i} alpha beta gamma") for i in range(8)]

    chunks = chunk_elements(elements, words, max_tokens=10, overlap=4)

    assert len(chunks) > 2
    text = document_text(elements)
    for first, second in itertools.pairwise(chunks):
        assert second.start < first.end
        shared = text[second.start : first.end]
        assert shared.strip()
        assert first.text.endswith(shared)
        assert second.text.startswith(shared)


def test_without_overlap_chunks_do_not_share_text() -> None:
    elements = [para(f"p{i} alpha beta gamma") for i in range(8)]

    chunks = chunk_elements(elements, words, max_tokens=10, overlap=0)

    for first, second in itertools.pairwise(chunks):
        assert second.start >= first.end


def test_overlap_does_not_cross_a_heading() -> None:
    elements = [
        title("First", 1),
        para("a b c d"),
        para("e f g h"),
        title("Second", 1),
        para("i j k l"),
    ]

    chunks = chunk_elements(elements, words, max_tokens=6, overlap=5)

    second = [c for c in chunks if c.headings == ("Second",)]
    assert second and all("e f g h" not in c.text for c in second)


@pytest.mark.parametrize(("max_tokens", "overlap"), [(10, 10), (10, 11), (1, 5)])
def test_overlap_not_below_max_tokens_is_rejected(max_tokens: int, overlap: int) -> None:
    with pytest.raises(ValueError, match="overlap"):
        chunk_elements([para("some words here")], words, max_tokens, overlap)


def test_pages_span_the_pages_of_included_elements() -> None:
    elements = [
        para("one two three four", page=1),
        para("five six seven eight", page=1),
        para("nine ten eleven twelve", page=2),
        para("thirteen fourteen fifteen sixteen", page=3),
        para("seventeen eighteen nineteen twenty", page=3),
    ]

    chunks = chunk_elements(elements, words, max_tokens=8, overlap=0)

    assert [(c.page_start, c.page_end) for c in chunks] == [(1, 1), (2, 3), (3, 3)]


def test_elements_without_pages_give_no_pages() -> None:
    chunks = chunk_elements([para("no page here")], words, max_tokens=8, overlap=0)

    assert (chunks[0].page_start, chunks[0].page_end) == (None, None)


def test_empty_text_elements_are_skipped() -> None:
    elements = [
        Element("", "Blank"),
        para("hello world"),
        Element("   ", "Blank"),
        Element("\n", "Blank"),
    ]

    chunks = chunk_elements(elements, words, max_tokens=50, overlap=0)

    assert len(chunks) == 1
    assert chunks[0].text == "hello world"
    assert chunks[0].kinds == ("NarrativeText",)
    assert chunks[0].text == document_text(elements)[chunks[0].start : chunks[0].end]


def test_only_empty_elements_give_no_chunks() -> None:
    assert chunk_elements([Element("", "Text"), Element("  ", "Text")], words, 10, 0) == []
    assert chunk_elements([], words, 10, 0) == []


def test_embedding_text_carries_title_and_headings() -> None:
    elements = [title("Guide", 1), title("Booking", 2), para("Book flights early.")]
    chunks = chunk_elements(elements, words, max_tokens=50, overlap=0)
    [chunk] = [c for c in chunks if "Book flights early." in c.text]

    text = embedding_text("Travel Handbook", chunk)

    first_line, rest = text.split("\n", 1)
    assert "Travel Handbook" in first_line
    assert "Guide" in first_line and "Booking" in first_line
    assert first_line.index("Guide") < first_line.index("Booking")
    assert rest == chunk.text


def test_embedding_text_without_context_is_the_chunk_text() -> None:
    chunk = chunk_elements([para("Plain text only.")], words, max_tokens=50, overlap=0)[0]

    assert embedding_text("", chunk) == "Plain text only."


def _fake_embedder_tokens(text: str) -> int:
    """Counts like tests.fakes.FakeEmbedder (and like subword tokenizers: a URL is many)."""
    return len(re.findall(r"\w+", text))


def test_whitespace_free_run_longer_than_budget_is_still_split() -> None:
    url = "https://intranet.example.com/" + "/".join(f"segment{i}" for i in range(40))
    elements = [para(f"See {url} for details.")]
    text = document_text(elements)

    chunks = chunk_elements(elements, _fake_embedder_tokens, max_tokens=10, overlap=0)

    assert len(chunks) > 1
    for chunk in chunks:
        assert _fake_embedder_tokens(chunk.text) <= 10
        assert chunk.text == text[chunk.start : chunk.end]
    covered = {i for c in chunks for i in range(c.start, c.end)}
    assert all(i in covered for i, ch in enumerate(text) if not ch.isspace())


def test_small_sections_share_a_chunk_under_their_common_headings() -> None:
    elements = [
        title("Guide", depth=1),
        title("Booking", depth=2),
        para("Book flights early."),
        title("Hotels", depth=2),
        para("Hotels need approval."),
    ]

    chunks = chunk_elements(elements, words, max_tokens=40, overlap=0)

    assert [c.text for c in chunks] == [document_text(elements)]
    assert chunks[0].headings == ("Guide",)


def test_sections_at_the_small_threshold_stay_apart() -> None:
    elements = [
        title("Booking", depth=1),
        para("one two three four five six seven eight nine"),  # 10 tokens with its heading
        title("Hotels", depth=1),
        para("one two three four five six seven eight nine"),
    ]

    apart = chunk_elements(elements, words, max_tokens=40, overlap=0)  # threshold 40 // 4 = 10
    merged = chunk_elements(elements, words, max_tokens=40, overlap=0, min_tokens=11)

    assert [c.headings for c in apart] == [("Booking",), ("Hotels",)]
    assert [c.headings for c in merged] == [()]


def test_small_section_that_cannot_join_the_next_joins_the_previous() -> None:
    elements = [
        title("Intro", depth=1),
        para(" ".join(f"w{i}" for i in range(30))),
        title("Note", depth=1),
        para("tiny note"),  # 3 tokens: 34 with Intro's, 37 with Details'
        title("Details", depth=1),
        para(" ".join(f"w{i}" for i in range(33))),
    ]

    chunks = chunk_elements(elements, words, max_tokens=35, overlap=0, min_tokens=5)

    assert [c.headings for c in chunks] == [(), ("Details",)]
    assert chunks[0].text.endswith("Note\n\ntiny note")


def test_bare_heading_joins_the_next_section_even_when_that_one_is_long() -> None:
    body = " ".join(f"Sentence {i} has five words." for i in range(6))
    elements = [title("Part One", depth=1), title("Chapter", depth=2), para(body)]

    chunks = chunk_elements(elements, words, max_tokens=12, overlap=0, min_tokens=0)

    assert chunks[0].text.startswith("Part One\n\nChapter\n\nSentence 0")
    assert all(not c.text.endswith("Chapter") for c in chunks)
    assert [c.headings for c in chunks] == [("Part One", "Chapter")] * len(chunks)


def test_sibling_bare_heading_joins_the_next_under_the_shared_parent() -> None:
    elements = [title("Guide", 1), title("Empty", 2), title("Booking", 2), para("body text")]

    [chunk] = chunk_elements(elements, words, max_tokens=50, overlap=0, min_tokens=0)

    assert chunk.headings == ("Guide",)


ROWS = [f"r{i} | cell{i} | more{i}" for i in range(1, 13)]  # 5 words per row
HEADER = "Region | Sales | Notes"


def test_table_that_fits_stays_whole_in_one_chunk() -> None:
    elements = [title("Sales", 1), table(HEADER, *ROWS[:3]), para("After the table.")]

    chunks = chunk_elements(elements, words, max_tokens=30, overlap=0)

    assert len(chunks) == 1
    assert "\n".join([HEADER, *ROWS[:3]]) in chunks[0].text
    assert chunks[0].context == ""


def test_long_table_is_split_between_rows_with_the_header_as_context() -> None:
    elements = [para("Before the table."), table(HEADER, *ROWS), para("After the table.")]
    text = document_text(elements)

    chunks = chunk_elements(elements, words, max_tokens=20, overlap=5)

    pieces = [c for c in chunks if c.kinds == ("Table",)]
    assert len(pieces) > 2
    assert pieces[0].text.startswith(HEADER) and pieces[0].context == ""
    seen: list[str] = []
    for piece in pieces:
        assert piece.text == text[piece.start : piece.end]
        rows = piece.text.split("\n")
        assert all(row in [HEADER, *ROWS] for row in rows), piece.text
        if piece is not pieces[0]:
            assert piece.context == HEADER
        assert words(piece.text) + words(piece.context) <= 20
        seen.extend(rows)
    assert seen == [HEADER, *ROWS]  # contiguous, in order, each row once
    assert [c.text for c in chunks if c.kinds != ("Table",)] == [
        "Before the table.",
        "After the table.",
    ]


def test_row_longer_than_the_budget_is_the_only_thing_cut() -> None:
    wide = " | ".join(f"c{i}" for i in range(20))  # 39 words
    elements = [table(HEADER, ROWS[0], wide, ROWS[1])]

    chunks = chunk_elements(elements, words, max_tokens=12, overlap=0)

    assert all(words(c.text) <= 12 for c in chunks)
    assert " ".join(c.text for c in chunks).split() == document_text(elements).split()
    assert ROWS[0] in [c.text.split("\n")[-1] for c in chunks]
    assert ROWS[1] in [c.text.split("\n")[0] for c in chunks]


def test_bare_heading_before_a_split_table_opens_its_first_piece() -> None:
    elements = [title("Sales", 1), table(HEADER, *ROWS)]

    chunks = chunk_elements(elements, words, max_tokens=20, overlap=0)

    assert chunks[0].text.startswith(f"Sales\n\n{HEADER}")
    assert [c.headings for c in chunks] == [("Sales",)] * len(chunks)


def test_embedding_text_puts_context_after_the_headings() -> None:
    elements = [title("Sales", 1), table(HEADER, *ROWS)]
    chunks = chunk_elements(elements, words, max_tokens=20, overlap=0)

    text = embedding_text("Report", chunks[1])

    assert text.split("\n") == ["Report > Sales", HEADER, *chunks[1].text.split("\n")]
