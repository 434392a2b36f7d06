"""Split a parsed document into passages that fit the embedder's token budget.

Pure Python: the token counter is passed in, so this module is tested on plain strings.

The document's text is its elements joined by blank lines; every chunk is a contiguous span of
that text (`start`, `end`), so a citation can point at the exact passage. Chunks never cross a
heading: a heading opens a new section, and the heading path above a chunk travels with it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from ingest.types import Chunk, Element

ELEMENT_SEPARATOR = "\n\n"
_SENTENCE_END = re.compile(r"(?<=[.!?;:])\s+")
_WORD = re.compile(r"\S+")

TokenCounter = Callable[[str], int]


@dataclass(frozen=True)
class _Unit:
    """A piece no chunk splits: an element, or a sentence/word window of a long one."""

    start: int
    end: int
    tokens: int
    kind: str
    page: int | None
    headings: tuple[str, ...]


def document_text(elements: Sequence[Element]) -> str:
    """The extracted text that chunk offsets point into."""
    return ELEMENT_SEPARATOR.join(e.text for e in elements)


def heading_paths(elements: Sequence[Element]) -> list[tuple[str, ...]]:
    """For each element, the titles above it (a heading's own path includes itself)."""
    stack: list[tuple[int, str]] = []
    paths: list[tuple[str, ...]] = []
    for element in elements:
        if element.is_heading:
            depth = element.depth if element.depth is not None else 0
            while stack and stack[-1][0] >= depth:
                stack.pop()
            stack.append((depth, element.text.strip()))
        paths.append(tuple(text for _, text in stack))
    return paths


def chunk_elements(
    elements: Sequence[Element],
    count_tokens: TokenCounter,
    max_tokens: int,
    overlap: int,
) -> list[Chunk]:
    """Group elements into chunks of at most `max_tokens`, `overlap` tokens carried over."""
    if overlap >= max_tokens:
        raise ValueError("overlap must be smaller than max_tokens")
    text = document_text(elements)
    units = list(_units(elements, text, count_tokens, max_tokens))
    chunks: list[Chunk] = []
    for section in _sections(units):
        for group in _pack(section, max_tokens, overlap):
            chunks.append(_make_chunk(len(chunks), group, text))
    return chunks


def _units(
    elements: Sequence[Element], text: str, count_tokens: TokenCounter, max_tokens: int
) -> Iterator[_Unit]:
    offset = 0
    for element, path in zip(elements, heading_paths(elements), strict=True):
        start, end = offset, offset + len(element.text)
        offset = end + len(ELEMENT_SEPARATOR)
        if not element.text.strip():
            continue
        tokens = count_tokens(element.text)
        if tokens <= max_tokens:
            yield _Unit(start, end, tokens, element.kind, element.page, path)
            continue
        for s, e in _split_long(text, start, end, count_tokens, max_tokens):
            yield _Unit(s, e, count_tokens(text[s:e]), element.kind, element.page, path)


def _split_long(
    text: str, start: int, end: int, count_tokens: TokenCounter, max_tokens: int
) -> Iterator[tuple[int, int]]:
    """Spans of text[start:end] that each fit: sentences, or word windows of long sentences."""
    for s, e in _spans(text, start, end, _SENTENCE_END):
        if count_tokens(text[s:e]) <= max_tokens:
            yield s, e
        else:
            yield from _word_windows(text, s, e, count_tokens, max_tokens)


def _spans(
    text: str, start: int, end: int, separator: re.Pattern[str]
) -> Iterator[tuple[int, int]]:
    position = start
    for match in separator.finditer(text, start, end):
        if match.start() > position:
            yield position, match.start()
        position = match.end()
    if position < end:
        yield position, end


def _word_windows(
    text: str, start: int, end: int, count_tokens: TokenCounter, max_tokens: int
) -> Iterator[tuple[int, int]]:
    words = [
        piece
        for m in _WORD.finditer(text, start, end)
        for piece in _char_windows(text, m.start(), m.end(), count_tokens, max_tokens)
    ]
    i = 0
    while i < len(words):
        j = i + 1
        while j < len(words) and count_tokens(text[words[i][0] : words[j][1]]) <= max_tokens:
            j += 1
        yield words[i][0], words[j - 1][1]
        i = j


def _char_windows(
    text: str, start: int, end: int, count_tokens: TokenCounter, max_tokens: int
) -> Iterator[tuple[int, int]]:
    """A word too long for one chunk (a URL, text without spaces) cut into pieces that fit."""
    while start < end:
        stop = end
        while stop - start > 1 and count_tokens(text[start:stop]) > max_tokens:
            stop = start + (stop - start) // 2
        yield start, stop
        start = stop


def _sections(units: list[_Unit]) -> Iterator[list[_Unit]]:
    """Runs of units under the same heading path."""
    section: list[_Unit] = []
    for unit in units:
        if section and unit.headings != section[-1].headings:
            yield section
            section = []
        section.append(unit)
    if section:
        yield section


def _pack(units: list[_Unit], max_tokens: int, overlap: int) -> Iterator[list[_Unit]]:
    """Greedy packing; each new chunk starts with trailing units worth <= `overlap` tokens."""
    group: list[_Unit] = []
    fresh = 0  # units in `group` not yet emitted in an earlier chunk
    for unit in units:
        if group and _tokens(group) + unit.tokens > max_tokens:
            yield group
            group = _tail(group, overlap, max_tokens - unit.tokens)
            fresh = 0
        group.append(unit)
        fresh += 1
    if group and fresh:
        yield group


def _tail(group: list[_Unit], overlap: int, room: int) -> list[_Unit]:
    tail: list[_Unit] = []
    for unit in reversed(group):
        if _tokens(tail) + unit.tokens > min(overlap, room):
            break
        tail.insert(0, unit)
    return tail


def _tokens(units: list[_Unit]) -> int:
    return sum(u.tokens for u in units)


def _make_chunk(index: int, units: list[_Unit], text: str) -> Chunk:
    pages = [u.page for u in units if u.page is not None]
    return Chunk(
        index=index,
        text=text[units[0].start : units[-1].end],
        start=units[0].start,
        end=units[-1].end,
        headings=units[0].headings,
        kinds=tuple(dict.fromkeys(u.kind for u in units)),
        page_start=min(pages) if pages else None,
        page_end=max(pages) if pages else None,
    )


def embedding_text(title: str, chunk: Chunk) -> str:
    """What gets embedded: the passage with its document title and heading path as context."""
    context = " > ".join(h for h in (title, *chunk.headings) if h)
    return f"{context}\n{chunk.text}" if context else chunk.text
