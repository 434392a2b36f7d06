"""Tables as text: one line per row, cells joined by " | ", the header row first.

The parser builds that text from the HTML `unstructured` gives each table; the chunker splits a
table too long for one chunk into runs of whole rows and carries the header row as context.
Pure Python at import time: lxml is imported only when HTML is read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

CELL_SEPARATOR = " | "
ROW_SEPARATOR = "\n"


@dataclass(frozen=True)
class RowRun:
    """Rows k..m of a table: a span of the document text, and the header row if not in it."""

    start: int
    end: int
    tokens: int
    context: str


def table_text(html: str) -> str:
    """The table in `html` as one line per row; "" when it has no cell text."""
    rows = table_rows(html)
    return ROW_SEPARATOR.join(CELL_SEPARATOR.join(cells) for cells in rows)


def table_rows(html: str) -> list[list[str]]:
    """Cell texts row by row, header rows (<thead>) first, blank rows left out."""
    import lxml.etree
    import lxml.html

    try:
        root = lxml.html.fromstring(html)
    except (lxml.etree.ParserError, ValueError):
        return []
    head = root.xpath(".//thead//tr")
    in_head = set(head)
    body = [tr for tr in root.xpath("descendant-or-self::tr") if tr not in in_head]
    cells = [[_cell_text(cell) for cell in tr.xpath("./th|./td")] for tr in [*head, *body]]
    return [row for row in cells if any(row)]


def _cell_text(cell: Any) -> str:
    return " ".join(str(cell.text_content()).split())


def row_spans(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """The non-blank lines of text[start:end], as spans of `text`."""
    spans = []
    position = start
    while position < end:
        stop = text.find(ROW_SEPARATOR, position, end)
        stop = end if stop == -1 else stop
        if text[position:stop].strip():
            spans.append((position, stop))
        position = stop + len(ROW_SEPARATOR)
    return spans


def split_rows(
    text: str, start: int, end: int, count_tokens: Callable[[str], int], max_tokens: int
) -> Iterator[RowRun]:
    """Runs of whole rows of the table at text[start:end], each within the budget.

    Each run after the first carries the header row as context; room for it is kept in the
    budget when the header takes at most half of it. A single row over the budget is a run of
    its own (the caller splits it further only when it exceeds `max_tokens`).
    """
    rows = row_spans(text, start, end)
    if not rows:
        return
    header = text[rows[0][0] : rows[0][1]]
    header_tokens = count_tokens(header)
    budget = max_tokens - (header_tokens if header_tokens <= max_tokens // 2 else 0)
    run_start, run_end, run_tokens, context = rows[0][0], rows[0][0], 0, ""
    for s, e in rows:
        tokens = count_tokens(text[s:e])
        if run_end > run_start and run_tokens + tokens > budget:
            yield RowRun(run_start, run_end, run_tokens, context)
            run_start, run_tokens, context = s, 0, header
        run_end, run_tokens = e, run_tokens + tokens
    yield RowRun(run_start, run_end, run_tokens, context)
