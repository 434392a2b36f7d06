"""Dataclasses passed between the ingest stages (library types stop at the adapters)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

Box = tuple[float, float, float, float]  # left, top, right, bottom: fractions of the page


@dataclass(frozen=True, order=True)
class Region:
    """Where a stretch [start, end) of text sits on a page: a box, as fractions of the page's
    width and height (so any rendering of the page can draw it). In an element, the offsets
    point into the element's text; in a chunk or passage, into the document's text."""

    start: int
    end: int
    page: int
    box: Box

    def shifted(self, offset: int) -> Region:
        return Region(self.start + offset, self.end + offset, self.page, self.box)


@dataclass(frozen=True)
class Element:
    """One parsed piece of a document: a heading, paragraph, list item or table."""

    text: str
    kind: str
    page: int | None = None
    depth: int | None = None  # heading level for titles, when the parser knows it
    regions: tuple[Region, ...] = ()  # where its text sits on the page, when known

    @property
    def is_heading(self) -> bool:
        return self.kind == "Title"


@dataclass(frozen=True)
class ParsedDocument:
    """A file read into elements, with the hash of its bytes."""

    source: str
    title: str
    content_hash: str
    elements: list[Element]
    pages: int | None = None  # highest page number seen; None for unpaged formats
    notes: tuple[str, ...] = ()  # what a person should know (a scanned page that gave no text)


@dataclass(frozen=True)
class Chunk:
    """A passage to embed and show: a span [start, end) of the document's extracted text."""

    index: int
    text: str
    start: int
    end: int
    headings: tuple[str, ...]
    kinds: tuple[str, ...]
    page_start: int | None
    page_end: int | None
    context: str = ""  # embedded with the chunk, not part of its text: a split table's header row
    regions: tuple[Region, ...] = ()  # where its text sits on its pages (scans, PDFs)


@dataclass(frozen=True)
class SparseVector:
    indices: list[int]
    values: list[float]


@dataclass(frozen=True)
class StoredChunk:
    """A chunk ready for the vector store: its vectors and the payload shown to users."""

    point_id: str
    doc_id: str
    version: str  # the document's bytes and the settings that chunked and embedded them
    chunk: Chunk
    title: str
    source: str
    dense: list[float]
    sparse: SparseVector
    groups: tuple[str, ...] = field(default_factory=tuple)
    tags: tuple[str, ...] = ()  # labels given at ingestion, for search filters
    modified: datetime | None = None  # the file's modification time
    ingested: datetime | None = None  # when these chunks were written


@dataclass(frozen=True)
class Passage:
    """A chunk found by search, with everything needed to show and cite it."""

    point_id: str
    doc_id: str
    chunk_index: int
    text: str
    title: str
    source: str
    headings: tuple[str, ...]
    page_start: int | None
    page_end: int | None
    start: int
    end: int
    score: float
    version: str = ""  # which ingestion of the document this passage came from
    groups: tuple[str, ...] = ()  # who may read it (empty: everyone)
    # a passage joined from neighbouring chunks: each chunk's (start, end); empty: one chunk
    chunk_spans: tuple[tuple[int, int], ...] = ()
    # cosine similarity of the question and the chunk's stored vector (a joined passage: its
    # closest chunk's), when the search returned the vector; the answer's evidence signal
    similarity: float | None = field(default=None, compare=False)
    regions: tuple[Region, ...] = ()  # where its text sits on its pages (document offsets)

    @property
    def location(self) -> str:
        """Page or section, for a citation label."""
        if self.page_start is not None:
            if self.page_end is not None and self.page_end != self.page_start:
                return f"pp. {self.page_start}–{self.page_end}"
            return f"p. {self.page_start}"
        return self.section

    @property
    def section(self) -> str:
        """The heading path below the title ("Installing > On Debian"); on a page of questions
        and answers, the question this passage answers."""
        trail = [h for h in (self.headings[1:] or self.headings) if h != self.title]
        return " > ".join(trail)  # the title is shown beside it already


def passage_record(passage: Passage) -> dict[str, Any]:
    """A passage as JSON-ready data, under its field names: the one mapping between passages
    and stored data (the vector store's payload uses the same names; stored answers this)."""
    return {
        "point_id": passage.point_id,
        "doc_id": passage.doc_id,
        "version": passage.version,
        "chunk_index": passage.chunk_index,
        "text": passage.text,
        "title": passage.title,
        "source": passage.source,
        "headings": list(passage.headings),
        "page_start": passage.page_start,
        "page_end": passage.page_end,
        "start": passage.start,
        "end": passage.end,
        "score": passage.score,
        "groups": list(passage.groups),
        "chunk_spans": [list(span) for span in passage.chunk_spans],
        "similarity": passage.similarity,
        "regions": regions_record(passage.regions),
    }


def regions_record(regions: tuple[Region, ...]) -> list[list[float]]:
    """Regions as compact JSON: [page, start, end, left, top, right, bottom] each."""
    return [[r.page, r.start, r.end, *(round(v, 4) for v in r.box)] for r in regions]


def regions_from_record(data: list[list[float]] | None) -> tuple[Region, ...]:
    return tuple(
        Region(int(s), int(e), int(page), (float(a), float(b), float(c), float(d)))
        for page, s, e, a, b, c, d in data or ()
    )


def passage_from_record(data: dict[str, Any]) -> Passage:
    """The passage back from `passage_record`, or from a stored chunk's payload with its
    point id, score and similarity added (fields a payload lacks take their defaults)."""
    return Passage(
        point_id=str(data["point_id"]),
        doc_id=data["doc_id"],
        chunk_index=data["chunk_index"],
        text=data["text"],
        title=data["title"],
        source=data["source"],
        headings=tuple(data.get("headings", ())),
        page_start=data.get("page_start"),
        page_end=data.get("page_end"),
        start=data["start"],
        end=data["end"],
        score=float(data.get("score", 0.0)),
        version=data.get("version", ""),
        groups=tuple(data.get("groups", ())),
        chunk_spans=tuple((s, e) for s, e in data.get("chunk_spans", ())),
        similarity=data.get("similarity"),
        regions=regions_from_record(data.get("regions")),
    )


@dataclass(frozen=True)
class SearchFilters:
    """Narrow a search to some documents; applied inside the query, on top of access control.

    Every kind given must hold; within a kind, any value will do. Dates (timezone-aware) are
    compared with the file's modification time and the time its chunks were written; "since"
    includes the moment, "before" excludes it. Chunks stored without a date match no date.
    """

    documents: tuple[str, ...] = ()  # document ids or source paths
    file_types: tuple[str, ...] = ()  # file suffixes without the dot: "pdf", "md"
    tags: tuple[str, ...] = ()
    modified_since: datetime | None = None  # on or after
    modified_before: datetime | None = None
    ingested_since: datetime | None = None
    ingested_before: datetime | None = None

    @property
    def empty(self) -> bool:
        return self == SearchFilters()
