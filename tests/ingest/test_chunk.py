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


def random_document(rng: random.Random) -> list[Element]:
    serial = [0]
    elements: list[Element] = []
    page = 1
    for _ in range(rng.randint(3, 25)):
        page += rng.random() < 0.3
        roll = rng.random()
        if roll < 0.2:
            serial[0] += 1
            elements.append(title(f"Heading {serial[0]}", depth=rng.choice([1, 2, 3]), page=page))
        elif roll < 0.27:
            elements.append(para(rng.choice(["", "   ", "\n"]), page=page))
        elif roll < 0.35:  # one giant sentence without punctuation
            serial[0] += 1
            elements.append(para(" ".join(f"g{serial[0]}x{i}" for i in range(80)), page=page))
        else:
            count = rng.randint(1, 6)
            sentences = [sentence(rng.randint(1, 15), serial) for _ in range(count)]
            elements.append(para(" ".join(sentences), page=page))
    return elements


@pytest.mark.parametrize("seed", range(40))
def test_random_documents_keep_every_invariant(seed: int) -> None:
    rng = random.Random(seed)
    elements = random_document(rng)
    max_tokens = rng.randint(4, 40)
    overlap = rng.randint(0, max_tokens - 1)
    text = document_text(elements)

    chunks = chunk_elements(elements, words, max_tokens, overlap)

    assert text == "\n\n".join(e.text for e in elements)
    assert [c.index for c in chunks] == list(range(len(chunks)))
    paths = reference_paths(elements)
    element_spans = spans(elements)
    heading_starts = [s for e, (s, _) in zip(elements, element_spans, strict=True) if e.is_heading]
    for chunk in chunks:
        assert words(chunk.text) <= max_tokens
        assert chunk.text == text[chunk.start : chunk.end]
        assert chunk.text.strip()
        # a heading may only open a chunk, never sit inside it
        assert not [h for h in heading_starts if chunk.start < h < chunk.end]
        touched = overlapping(elements, chunk)
        expected_paths = {paths[elements.index(e)] for e in touched}
        assert expected_paths == {chunk.headings}
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


def test_chunks_never_span_two_sections() -> None:
    elements = [
        title("Intro", depth=1),
        para("one two three"),
        title("Usage", depth=1),
        para("four five six"),
    ]

    chunks = chunk_elements(elements, words, max_tokens=100, overlap=10)

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
    chunks = chunk_elements(elements, words, max_tokens=100, overlap=0)
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
