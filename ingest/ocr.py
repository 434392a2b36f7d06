"""Reading text from pictures: the OCR engine protocol, and what becomes of the lines it finds.

An engine reads one image and returns lines of text, each with a box and a confidence. Here
the confident lines are put in reading order, grouped into paragraphs by the gaps between them,
and turned into elements whose regions say where each line sits on its page. Pure Python apart
from Pillow's image type; the real engine is `ingest.ocr_rapid`.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
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


def engine_for(options: OcrOptions) -> OcrEngine:
    """One engine per parser process (loading the models takes about a second), whatever
    the mode or thresholds; another factory or thread count gets its own."""
    return _engine(
        options.engine, replace(OCR_AUTO, engine=options.engine, threads=options.threads)
    )


@lru_cache(maxsize=4)
def _engine(factory: EngineFactory, options: OcrOptions) -> OcrEngine:
    return factory(options)


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
    """The page's text; a page scanned upside down or sideways is read turned upright (its
    regions still point at the page as scanned)."""
    lines, turn = upright_lines(engine, image)
    kept = [
        line for line in lines if line.text.strip() and line.confidence >= options.min_confidence
    ]
    doubtful = sum(1 for line in lines if line.text.strip()) - len(kept)
    paragraphs = paragraphs_of(reading_order(kept))
    return PageText(page, [_element(lines, page, turn) for lines in paragraphs], doubtful)


SURE = 0.85  # a page read with less (mean confidence per letter) is tried the other way up


def upright_lines(engine: OcrEngine, image: Image) -> tuple[list[OcrLine], int]:
    """The lines read the way up that reads best, and that turn (degrees, anticlockwise).
    Only a page read with little confidence (upside down?) or whose lines stand on end
    (sideways?) is read again, turned."""
    from PIL.Image import Transpose

    lines = engine.read(image)
    sideways = _sideways(lines, image.size)
    if not lines or (not sideways and _sureness(lines) >= SURE):
        return lines, 0
    if sideways:
        turns = {90: Transpose.ROTATE_90, 270: Transpose.ROTATE_270}
    else:
        turns = {180: Transpose.ROTATE_180}
    readings = [(lines, 0)] + [(engine.read(image.transpose(t)), a) for a, t in turns.items()]
    return max(readings, key=lambda reading: _sureness(reading[0]) * _letters(reading[0]))


def _sureness(lines: Sequence[OcrLine]) -> float:
    letters = _letters(lines)
    return sum(line.confidence * len(line.text) for line in lines) / letters if letters else 0.0


def _letters(lines: Sequence[OcrLine]) -> int:
    return sum(len(line.text) for line in lines)


def _sideways(lines: Sequence[OcrLine], size: tuple[int, int]) -> bool:
    """Most lines (of 3 or more letters) are taller than wide on the page."""
    width, height = size
    long = [line for line in lines if len(line.text.strip()) >= 3]
    tall = sum(
        1
        for line in long
        if (line.box[3] - line.box[1]) * height > 1.5 * (line.box[2] - line.box[0]) * width
    )
    return bool(long) and tall > len(long) / 2


def unturned(box: Box, turn: int) -> Box:
    """A box on the page turned `turn` degrees anticlockwise, back on the page as scanned."""
    left, top, right, bottom = box
    if turn == 90:
        return 1 - bottom, left, 1 - top, right
    if turn == 180:
        return 1 - right, 1 - bottom, 1 - left, 1 - top
    if turn == 270:
        return top, 1 - right, bottom, 1 - left
    return box


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


def _element(lines: Sequence[OcrLine], page: int, turn: int = 0) -> Element:
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
        regions.append(Region(len(text), len(text) + len(words), page, unturned(line.box, turn)))
        text += words
    return Element(text=text, kind=_OCR_KIND, page=page, regions=tuple(regions))
