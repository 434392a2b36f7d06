"""Small HTML helpers for answers: Markdown made safe, citation markers turned into links.

Model output and document text are untrusted. Answers are rendered as CommonMark with raw HTML
disabled, then cleaned by an allow-list sanitiser, so nothing a model or a document writes can
run script or load anything; passages are shown as escaped text.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import quote

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup, escape

from app.answering.answer_text import markers
from app.answering.support import Span
from app.documents.page_pictures import shows_pages
from ingest.types import Box, Passage

_OPEN, _CLOSE = "\ue000", "\ue001"  # private-use characters hold a marker's place in Markdown
_PLACEHELD = re.compile(f"{_OPEN}(\\d+){_CLOSE}")
_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")
_ALLOWED_TAGS = {
    "p", "br", "strong", "em", "code", "pre", "blockquote", "ul", "ol", "li", "h1", "h2", "h3",
    "h4", "h5", "h6", "hr", "a", "table", "thead", "tbody", "tr", "th", "td", "del",
}  # fmt: skip
_ALLOWED_ATTRIBUTES = {"a": {"href", "title", "class"}, "ol": {"start"}}


def answer_html(text: str, anchor: str) -> Markup:
    """The answer as sanitised Markdown, each citation marker linked to source n of this
    answer; brackets that are data (in code, `sys.argv[1]`) stay text (see
    app.answering.answer_text)."""
    placeheld = text.replace(_OPEN, "").replace(_CLOSE, "")
    for marker in reversed(markers(placeheld)):
        numbers = "".join(f"{_OPEN}{n}{_CLOSE}" for n in marker.numbers)
        placeheld = placeheld[: marker.start] + numbers + placeheld[marker.end :]
    rendered = _markdown.render(placeheld)
    link = _cite_link(anchor)
    linked = _PLACEHELD.sub(link, rendered)
    clean = nh3.clean(
        linked,
        tags=_ALLOWED_TAGS,
        attributes=_ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )
    return Markup(clean)


def _cite_link(anchor: str) -> Callable[[re.Match[str]], str]:
    def link(match: re.Match[str]) -> str:
        number = match.group(1)
        return f'<a class="cite" href="#{anchor}-src-{number}">[{number}]</a>'

    return link


def token_html(text: str) -> str:
    """A streamed piece of answer as inert HTML on one line."""
    return str(escape(text)).replace("\n", "<br>")


def highlighted(text: str, span: Span | None) -> Markup:
    """The passage, escaped, with the supporting span wrapped in <mark>."""
    if span is None:
        return escape(text)
    before, inside, after = text[: span.start], text[span.start : span.end], text[span.end :]
    return Markup(f"{escape(before)}<mark>{escape(inside)}</mark>{escape(after)}")


@dataclass(frozen=True)
class PageView:
    """A cited passage on its page: the page's picture and the boxes to outline on it, in
    percent of the page (left, top, width, height)."""

    doc_id: str
    page: int
    boxes: tuple[tuple[float, float, float, float], ...]

    @property
    def picture(self) -> str:
        return f"/documents/{quote(self.doc_id, safe='')}/pages/{self.page}.png"


def page_view(passage: Passage, span: Span | None) -> PageView | None:
    """Where the supporting span (or, without one, the passage) sits on its first page, for
    PDFs and pictures whose passages were placed (OCR boxes, or the text layer's)."""
    if not passage.regions or not shows_pages(passage.source):
        return None
    start, end = (span.start, span.end) if span else (0, len(passage.text))
    start, end = passage.start + start, passage.start + end
    found = sorted(r for r in passage.regions if r.start < end and start < r.end)
    if not found:
        return None
    page = found[0].page
    boxes = {_percent(r.box) for r in found if r.page == page}
    return PageView(passage.doc_id, page, tuple(sorted(boxes, key=lambda b: (b[1], b[0]))))


def _percent(box: Box, margin: float = 0.3) -> tuple[float, float, float, float]:
    """The box in percent of the page, a little wider so the outline clears the letters."""
    left, top = max(0.0, box[0] * 100 - margin), max(0.0, box[1] * 100 - margin)
    right, bottom = min(100.0, box[2] * 100 + margin), min(100.0, box[3] * 100 + margin)
    return round(left, 2), round(top, 2), round(right - left, 2), round(bottom - top, 2)


class LiveSources:
    """While an answer streams: which sources its text has cited so far, each reported once.

    Markers can arrive split across tokens ("[", "2", "]"), so the text is kept and scanned whole;
    a number that names no passage shown to the model is ignored (the finished answer drops it).
    """

    def __init__(self, passages: Sequence[Passage] = ()) -> None:
        self.passages = list(passages)
        self._text = ""
        self._seen: set[int] = set()

    def newly_cited(self, piece: str) -> list[tuple[int, Passage]]:
        self._text += piece
        found = []
        for number in (n for marker in markers(self._text) for n in marker.numbers):
            if number not in self._seen and 1 <= number <= len(self.passages):
                self._seen.add(number)
                found.append((number, self.passages[number - 1]))
        return found


def source_item_html(number: int, passage: Passage) -> str:
    """One line of the live source list: number, title and place, as inert HTML."""
    where = f" — {escape(passage.location)}" if passage.location else ""
    return f'<li value="{number}"><strong>{escape(passage.title)}</strong>{where}</li>'
