"""Where a chunk's text sits on its pages: the regions of its elements, in document offsets.

Pure Python. An element's regions point into its own text; the document's text joins the
elements (see `ingest.chunk.document_text`), so each region moves by its element's start, and a
chunk keeps the regions its span overlaps, cut to the span.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import replace

from ingest.chunk import ELEMENT_SEPARATOR
from ingest.types import Chunk, Element, Region


def document_regions(elements: Sequence[Element]) -> list[Region]:
    """Every element's regions, moved to offsets into the document's text, in order."""
    regions: list[Region] = []
    offset = 0
    for element in elements:
        regions += [region.shifted(offset) for region in element.regions]
        offset += len(element.text) + len(ELEMENT_SEPARATOR)
    return sorted(regions, key=lambda region: region.start)


def overlapping(regions: Sequence[Region], start: int, end: int) -> tuple[Region, ...]:
    """The regions (sorted by start) that share text with [start, end), cut to it."""
    ends = [region.end for region in regions]  # ascending too: regions do not nest
    found = []
    for region in regions[bisect_left(ends, start + 1) :]:
        if region.start >= end:
            break
        found.append(
            Region(max(region.start, start), min(region.end, end), region.page, region.box)
        )
    return tuple(found)


def placed(chunks: Sequence[Chunk], elements: Sequence[Element]) -> list[Chunk]:
    """The chunks with the regions their text covers (unchanged when no element has any)."""
    regions = document_regions(elements)
    if not regions:
        return list(chunks)
    return [replace(c, regions=overlapping(regions, c.start, c.end)) for c in chunks]
