"""Neighbour expansion and diversity over retrieved passages.

- Adjacent chunks of one document version that were both retrieved become one passage (at the
  rank of its best part) instead of two near-duplicates that repeat their shared overlap; a
  passage whose text another one already shows is dropped.
- At most `max_per_document` passages of one document come before passages of other documents;
  the rest follow them, so a document that fills the list alone still fills it.
- A joined passage counts as the chunks it joins (`first_chunks`), so merging shows less
  repeated text, never more text, than the unmerged chunks would; its similarity to the
  question (the evidence gate) is its closest chunk's.

A merged passage stays a true span of the document's text: `start`/`end` cover both parts, and
`text` is the first part followed by what the next adds beyond the overlap, so its length is
`end - start` and citation spans (offsets into `text`) stay inside it. Chunks never overlap
across a gap, and a gap between adjacent chunks is only the whitespace that separated them;
it is written as line breaks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from ingest.chunk import shared_headings
from ingest.types import Passage

MAX_MERGED_CHUNKS = 3  # one passage joins at most this many chunks (keeps it citable)

_Key = tuple[str, str, int]  # (document, version, chunk index)


def merge_neighbours(
    passages: Sequence[Passage], max_chunks: int = MAX_MERGED_CHUNKS
) -> list[Passage]:
    """Runs of adjacent retrieved chunks joined, best-ranked part first in line."""
    ranked = {_key(p): (i, p) for i, p in reversed(list(enumerate(passages)))}
    taken: set[_Key] = set()
    merged: list[Passage] = []
    for passage in passages:
        if _key(passage) in taken:
            continue
        run = _run(passage, ranked, taken, max_chunks)
        taken.update(_key(p) for p in run)
        joined = _joined(run, best=passage)
        if not any(_contains(kept, joined) for kept in merged):
            merged.append(joined)
    return merged


def diversify(passages: Sequence[Passage], max_per_document: int) -> list[Passage]:
    """The first `max_per_document` passages of each document in order, then the others
    (also in order); 0 keeps the order as it is."""
    if max_per_document <= 0:
        return list(passages)
    seen: dict[str, int] = {}
    first: list[Passage] = []
    later: list[Passage] = []
    for passage in passages:
        seen[passage.doc_id] = seen.get(passage.doc_id, 0) + 1
        (first if seen[passage.doc_id] <= max_per_document else later).append(passage)
    return first + later


def first_chunks(passages: Sequence[Passage], limit: int) -> list[Passage]:
    """Passages in order that together hold at most `limit` chunks (a joined one counts as its
    chunks; one that does not fit is passed over); the first passage always."""
    kept: list[Passage] = []
    used = 0
    for passage in passages:
        size = chunk_count(passage)
        if used + size <= limit or not kept:
            kept.append(passage)
            used += size
        if used >= limit:
            break
    return kept


def chunk_count(passage: Passage) -> int:
    return len(passage.chunk_spans) or 1


def _key(passage: Passage) -> _Key:
    return passage.doc_id, passage.version, passage.chunk_index


def _run(
    seed: Passage, ranked: dict[_Key, tuple[int, Passage]], taken: set[_Key], max_chunks: int
) -> list[Passage]:
    """`seed` and the retrieved chunks next to it, grown towards the better-ranked side."""
    run = [seed]
    while len(run) < max_chunks:
        sides = [
            ranked[key]
            for key in (_shifted(run[0], -1), _shifted(run[-1], 1))
            if key in ranked and key not in taken
        ]
        if not sides:
            break
        _, neighbour = min(sides, key=lambda side: side[0])
        before = neighbour.chunk_index < run[0].chunk_index
        run = [neighbour, *run] if before else [*run, neighbour]
    return run


def _contains(outer: Passage, inner: Passage) -> bool:
    """`inner` repeats text `outer` already shows (same document version)."""
    same = (outer.doc_id, outer.version) == (inner.doc_id, inner.version)
    return same and outer.start <= inner.start and inner.end <= outer.end


def _shifted(passage: Passage, step: int) -> _Key:
    return passage.doc_id, passage.version, passage.chunk_index + step


def _joined(run: list[Passage], best: Passage) -> Passage:
    """One passage spanning the run (chunks in document order), scored as its best part."""
    if len(run) == 1:
        return best
    text, end = run[0].text, run[0].end
    for part in run[1:]:
        text, end = _append(text, end, part)
    pages = [page for p in run for page in (p.page_start, p.page_end) if page is not None]
    return replace(
        best,
        chunk_index=run[0].chunk_index,
        text=text,
        start=run[0].start,
        end=end,
        headings=shared_headings([p.headings for p in run]),
        page_start=min(pages) if pages else None,
        page_end=max(pages) if pages else None,
        score=max(p.score for p in run),
        similarity=_closest(run),
        chunk_spans=tuple(span for p in run for span in (p.chunk_spans or ((p.start, p.end),))),
        regions=tuple(sorted({region for p in run for region in p.regions})),
    )


def _closest(run: list[Passage]) -> float | None:
    known = [p.similarity for p in run if p.similarity is not None]
    return max(known) if len(known) == len(run) else None


def _append(text: str, end: int, part: Passage) -> tuple[str, int]:
    """`text` (ending at document offset `end`) extended by `part`, its overlap dropped."""
    if part.end <= end:
        return text, end  # wholly inside what is there already
    if part.start >= end:
        return text + "\n" * (part.start - end) + part.text, part.end
    return text + part.text[end - part.start :], part.end
