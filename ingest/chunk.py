"""Split a parsed document into passages that fit the embedder's token budget.

Pure Python: the token counter is passed in, so this module is tested on plain strings.

The document's text is its elements joined by blank lines; every chunk is a contiguous span of
that text (`start`, `end`), so a citation can point at the exact passage. A heading opens a new
section, and chunks cross from one section into the next only when the pieces are tiny: a
section under `min_tokens` shares a chunk with its neighbour when both fit, and a heading with no
text of its own joins the section after it. A chunk's heading path is the one all its text
sits under. A table is kept whole when it fits; a longer one is cut between rows, and each
later piece carries the header row as context (see `ingest.tables`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace

from ingest.tables import split_rows
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
    heading: bool = False  # the unit is (part of) a heading
    context: str = ""  # a table piece's header row, when the piece does not hold it
    solo: bool = False  # a piece of a split table: a chunk of its own


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
    min_tokens: int | None = None,
) -> list[Chunk]:
    """Group elements into chunks of at most `max_tokens`, `overlap` tokens carried over.

    Sections under `min_tokens` (default: a quarter of `max_tokens`) share a chunk with a
    neighbouring section when both fit; 0 keeps every section apart except bare headings.
    """
    if overlap >= max_tokens:
        raise ValueError("overlap must be smaller than max_tokens")
    small = max_tokens // 4 if min_tokens is None else min_tokens
    text = document_text(elements)
    units = list(_units(elements, text, count_tokens, max_tokens))
    chunks: list[Chunk] = []
    for group in _merge_small(list(_sections(units)), max_tokens, small):
        for piece in _pack(group, max_tokens, overlap):
            chunks.append(_make_chunk(len(chunks), piece, text))
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
        unit = _Unit(start, end, 0, element.kind, element.page, path, element.is_heading)
        tokens = count_tokens(element.text)
        if tokens <= max_tokens:
            yield replace(unit, tokens=tokens)
        elif element.kind == "Table":
            yield from _table_units(unit, text, count_tokens, max_tokens)
        else:
            yield from _pieces(unit, text, count_tokens, max_tokens)


def _pieces(unit: _Unit, text: str, count_tokens: TokenCounter, max_tokens: int) -> Iterator[_Unit]:
    """A unit over the budget, cut at sentences (or words) into units that fit."""
    for s, e in _split_long(text, unit.start, unit.end, count_tokens, max_tokens):
        yield replace(unit, start=s, end=e, tokens=count_tokens(text[s:e]))


def _table_units(
    unit: _Unit, text: str, count_tokens: TokenCounter, max_tokens: int
) -> Iterator[_Unit]:
    """A table over the budget, as runs of whole rows (a row alone over it is cut further)."""
    for run in split_rows(text, unit.start, unit.end, count_tokens, max_tokens):
        piece = replace(
            unit, start=run.start, end=run.end, tokens=run.tokens, context=run.context, solo=True
        )
        if run.tokens <= max_tokens:
            yield piece
        else:
            yield from _pieces(piece, text, count_tokens, max_tokens)


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


def _merge_small(
    sections: list[list[_Unit]], max_tokens: int, min_tokens: int
) -> list[list[_Unit]]:
    """Sections, with bare headings and sections under `min_tokens` joined to a neighbour.

    A small section joins the next one when both fit in a chunk, or else the previous one when
    those fit; a section that ends in a heading (no text of its own) always joins the next.
    """
    groups: list[list[_Unit]] = []
    pending: list[_Unit] = []
    for section in sections:
        if pending and (
            pending[-1].heading or _fits_small(pending, section, max_tokens, min_tokens)
        ):
            pending = pending + section
            continue
        _close(groups, pending, max_tokens, min_tokens)
        pending = section
    _close(groups, pending, max_tokens, min_tokens)
    return groups


def _fits_small(small: list[_Unit], other: list[_Unit], max_tokens: int, min_tokens: int) -> bool:
    size = _tokens(small)
    return size < min_tokens and size + _tokens(other) <= max_tokens


def _close(groups: list[list[_Unit]], group: list[_Unit], max_tokens: int, min_tokens: int) -> None:
    if not group:
        return
    if groups and _fits_small(group, groups[-1], max_tokens, min_tokens):
        groups[-1].extend(group)
    else:
        groups.append(group)


def _pack(units: list[_Unit], max_tokens: int, overlap: int) -> Iterator[list[_Unit]]:
    """Greedy packing; each new chunk starts with trailing units worth <= `overlap` tokens.

    A piece of a split table is a chunk of its own, with only bare headings before it.
    """
    group: list[_Unit] = []
    fresh = 0  # units in `group` not yet emitted in an earlier chunk
    for unit in units:
        if unit.solo:
            yield from _around_solo(group if fresh else [], unit, max_tokens)
            group, fresh = [], 0
            continue
        if group and _tokens(group) + unit.tokens > max_tokens:
            yield group
            group = _tail(group, overlap, max_tokens - unit.tokens)
            fresh = 0
        group.append(unit)
        fresh += 1
    if group and fresh:
        yield group


def _around_solo(pending: list[_Unit], unit: _Unit, max_tokens: int) -> Iterator[list[_Unit]]:
    """What was pending, then the table piece alone; bare headings open the piece instead."""
    if pending and all(u.heading for u in pending) and _tokens(pending) + unit.tokens <= max_tokens:
        yield [*pending, unit]
        return
    if pending:
        yield pending
    yield [unit]


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
        headings=_shared_path(units),
        kinds=tuple(dict.fromkeys(u.kind for u in units)),
        page_start=min(pages) if pages else None,
        page_end=max(pages) if pages else None,
        context=next((u.context for u in units if u.context), ""),
    )


def _shared_path(units: list[_Unit]) -> tuple[str, ...]:
    """The heading path all the units sit under.

    A heading that opens the text after it in the chunk counts through that text, so a bare
    heading followed by its subsection does not shorten the subsection's path.
    """
    paths = [
        unit.headings
        for unit, after in zip(units, [*units[1:], None], strict=True)
        if not (unit.heading and after and after.headings[: len(unit.headings)] == unit.headings)
    ]
    return shared_headings(paths)


def shared_headings(paths: list[tuple[str, ...]]) -> tuple[str, ...]:
    """The longest heading path that every one of `paths` starts with."""
    shared = paths[0]
    for path in paths[1:]:
        n = 0
        while n < min(len(shared), len(path)) and shared[n] == path[n]:
            n += 1
        shared = shared[:n]
    return shared


def embedding_text(title: str, chunk: Chunk) -> str:
    """What gets embedded: the passage after its title, heading path and context lines."""
    path = " > ".join(h for h in (title, *chunk.headings) if h)
    return "\n".join(part for part in (path, chunk.context, chunk.text) if part)
