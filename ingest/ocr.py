"""Reading text from pictures: the OCR engine protocol, and what becomes of the lines it finds.

An engine reads one image and returns lines of text, each with a box and a confidence. Here
the confident lines are put in reading order, grouped into paragraphs by the gaps between them,
and turned into elements whose regions say where each line sits on its page. Pure Python apart
from Pillow's image type; the real engine is `ingest.ocr_rapid`.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import pairwise
from typing import TYPE_CHECKING, Literal, Protocol

from ingest.types import Box, Element, Region

if TYPE_CHECKING:
    from PIL.Image import Image

OcrMode = Literal["auto", "off", "force"]
OCR_MODES: tuple[OcrMode, ...] = ("auto", "off", "force")
PARAGRAPH_GAP = 0.8  # a vertical gap over this many line heights starts a new paragraph
_OCR_KIND = "NarrativeText"


@dataclass(frozen=True)
class OcrLine:
    """A line of text an engine found: its box is in fractions of the image read."""

    text: str
    box: Box
    confidence: float  # 0..1, the engine's own
    tilted_height: float | None = None  # a slanted line's own height (its box is taller)

    @property
    def height(self) -> float:
        return self.tilted_height or self.box[3] - self.box[1]

    @property
    def middle(self) -> float:
        return (self.box[1] + self.box[3]) / 2


class OcrEngine(Protocol):
    """Reads the lines of text in one image (in any order)."""

    name: str

    def read(self, image: Image) -> list[OcrLine]: ...


EngineFactory = Callable[["OcrOptions"], OcrEngine]


def _rapid(options: OcrOptions) -> OcrEngine:
    from ingest.ocr_rapid import RapidOcrEngine

    return RapidOcrEngine(threads=options.threads)


@dataclass(frozen=True)
class OcrOptions:
    """How the parser reads pictures; picklable, so it travels to the parser processes."""

    mode: OcrMode = "auto"  # auto: only pages and images without a usable text layer
    min_confidence: float = 0.5  # lines the engine is less sure of are left out (and counted)
    dpi: int = 150  # PDF pages are rendered at this resolution to be read (see README)
    max_pixels: int = 50_000_000  # a picture (or rendered page) larger than this is refused
    max_frames: int = 500  # pages of a multi-page TIFF
    threads: int = 0  # onnxruntime threads per parser process; 0: its default (all cores)
    engine: EngineFactory = field(default=_rapid, compare=True)

    @property
    def enabled(self) -> bool:
        return self.mode != "off"


OCR_OFF = OcrOptions(mode="off")
OCR_AUTO = OcrOptions()


@lru_cache(maxsize=4)
def engine_for(options: OcrOptions) -> OcrEngine:
    """One engine per parser process and options (loading the models takes about a second)."""
    return options.engine(options)


@dataclass(frozen=True)
class PageText:
    """What OCR made of one page: elements in reading order and the lines left out."""

    page: int
    elements: list[Element]
    doubtful: int  # lines under the confidence threshold, left out

    @property
    def empty(self) -> bool:
        return not self.elements


def read_page(engine: OcrEngine, image: Image, page: int, options: OcrOptions) -> PageText:
    lines = engine.read(image)
    kept = [
        line for line in lines if line.text.strip() and line.confidence >= options.min_confidence
    ]
    doubtful = sum(1 for line in lines if line.text.strip()) - len(kept)
    paragraphs = paragraphs_of(reading_order(kept))
    return PageText(page, [_element(lines, page) for lines in paragraphs], doubtful)


def reading_order(lines: Sequence[OcrLine]) -> list[OcrLine]:
    """Top to bottom in rows; left to right within a row (lines whose middles share a band)."""
    rows: list[list[OcrLine]] = []
    for line in sorted(lines, key=lambda item: (item.middle, item.box[0])):
        row = rows[-1] if rows else None
        if row is not None and _same_row(row, line):
            row.append(line)
        else:
            rows.append([line])
    return [line for row in rows for line in sorted(row, key=lambda item: item.box[0])]


def _same_row(row: list[OcrLine], line: OcrLine) -> bool:
    top = min(item.box[1] for item in row)
    bottom = max(item.box[3] for item in row)
    return top <= line.middle <= bottom and abs(row[0].middle - line.middle) < line.height / 2


def paragraphs_of(lines: Sequence[OcrLine]) -> list[list[OcrLine]]:
    """Runs of lines with no gap taller than PARAGRAPH_GAP line heights between them."""
    if not lines:
        return []
    height = statistics.median(line.height for line in lines)
    paragraphs: list[list[OcrLine]] = [[lines[0]]]
    for previous, line in pairwise(lines):
        gap = line.middle - previous.middle - height  # middles: slanted boxes overlap
        if gap > PARAGRAPH_GAP * height:
            paragraphs.append([line])
        else:
            paragraphs[-1].append(line)
    return paragraphs


def _element(lines: Sequence[OcrLine], page: int) -> Element:
    """The lines as one paragraph; a word hyphenated at a line's end is joined again."""
    text = ""
    regions: list[Region] = []
    for line in lines:
        words = " ".join(line.text.split())
        if text.endswith("-") and words[:1].islower():
            text = text[:-1]
            last = regions[-1]
            regions[-1] = Region(last.start, last.end - 1, page, last.box)
        elif text:
            text += " "
        regions.append(Region(len(text), len(text) + len(words), page, line.box))
        text += words
    return Element(text=text, kind=_OCR_KIND, page=page, regions=tuple(regions))
