"""A PDF's pages through pdfium: which have a usable text layer, pictures of the others to read,
and where a text layer's characters sit (for outlining a cited passage on its page).

pypdfium2's objects stop here: callers get numbers, Pillow images and our regions.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ingest.types import Box, Element, Region

if TYPE_CHECKING:
    from PIL.Image import Image

USABLE_LETTERS = 20  # a text layer with fewer letters and digits than this, over a picture, is read
_POINTS_PER_INCH = 72
_SEARCH_AHEAD = 400  # characters of the page a word of an element is looked for in
_pdfium_lock = threading.RLock()  # pdfium is not thread-safe (the web process renders pages)


class DamagedPdf(ValueError):
    """pdfium cannot open the file."""


class PageTooLarge(ValueError):
    """A page that would render past the pixel limit (a bomb, or a poster)."""


@dataclass(frozen=True)
class PageLayer:
    number: int  # from 1
    letters: int  # letters and digits in its text layer
    pictures: int  # image objects drawn on it

    def needs_ocr(self, force: bool) -> bool:
        """Forced, or a page whose text is (almost) only in its pictures."""
        return force or (self.pictures > 0 and self.letters < USABLE_LETTERS)


@contextmanager
def opened(path: Path) -> Iterator[Any]:
    import pypdfium2 as pdfium

    with _pdfium_lock:
        try:
            document = pdfium.PdfDocument(str(path))
        except pdfium.PdfiumError as exc:
            raise DamagedPdf(str(exc)) from exc
        try:
            yield document
        finally:
            document.close()


def page_layers(path: Path) -> list[PageLayer]:
    """What each page carries: text letters and pictures."""
    import pypdfium2.raw as pdfium_c

    layers = []
    with opened(path) as document:
        for index in range(len(document)):
            page = document[index]
            text = page.get_textpage().get_text_range()
            letters = sum(1 for char in text if char.isalnum())
            pictures = sum(1 for _ in page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE]))
            layers.append(PageLayer(index + 1, letters, pictures))
    return layers


def rendered(document: Any, number: int, dpi: float, max_pixels: int) -> Image:
    """Page `number` (from 1) as an RGB picture at `dpi`; PageTooLarge past `max_pixels`."""
    page = document[number - 1]
    width, height = page.get_size()
    scale = dpi / _POINTS_PER_INCH
    pixels = width * scale * height * scale
    if pixels > max_pixels:
        raise PageTooLarge(
            f"page {number} is {width / _POINTS_PER_INCH:.0f}×{height / _POINTS_PER_INCH:.0f}"
            f" inches: {pixels / 1e6:.0f} megapixels at {dpi:g} dpi, over the"
            f" {max_pixels / 1e6:.0f} megapixel limit"
        )
    image: Image = page.render(scale=scale).to_pil()
    return image.convert("RGB")


def page_size(path: Path, number: int) -> tuple[float, float]:
    with opened(path) as document:
        width, height = document[number - 1].get_size()
    return float(width), float(height)


def text_layer_regions(path: Path, elements: Sequence[Element]) -> list[Element]:
    """The elements with regions from the text layer: each word of an element is found on its
    page in order and its characters' boxes joined line by line. Elements already placed
    (read by OCR) and pages turned by /Rotate are left as they are."""
    result = list(elements)
    with opened(path) as document:
        for page_number, indexes in _by_page(elements).items():
            page = document[page_number - 1]
            if page.get_rotation() != 0:
                continue
            chars = _page_chars(page)
            stream = "".join(c.text for c in chars)
            cursor = 0
            for i in indexes:
                spans, cursor = _found(elements[i].text, stream, cursor)
                result[i] = replace(elements[i], regions=tuple(_lines(spans, chars, page_number)))
    return result


def _by_page(elements: Sequence[Element]) -> dict[int, list[int]]:
    pages: dict[int, list[int]] = {}
    for index, element in enumerate(elements):
        if element.page is not None and not element.regions:
            pages.setdefault(element.page, []).append(index)
    return pages


@dataclass(frozen=True)
class _Char:
    text: str
    box: Box


def _page_chars(page: Any) -> list[_Char]:
    """The page's visible characters (no spaces) with their boxes as fractions of the page."""
    import pypdfium2.raw as pdfium_c

    left, bottom, right, top = page.get_cropbox()
    width, height = (right - left) or 1, (top - bottom) or 1
    textpage = page.get_textpage()
    chars = []
    for index in range(textpage.count_chars()):
        char = chr(pdfium_c.FPDFText_GetUnicode(textpage.raw, index))
        if char.isspace() or not char.isprintable():
            continue
        x0, y0, x1, y1 = textpage.get_charbox(index)
        box = ((x0 - left) / width, (top - y1) / height, (x1 - left) / width, (top - y0) / height)
        chars.append(_Char(char, box))
    return chars


def _found(text: str, stream: str, cursor: int) -> tuple[list[tuple[int, int, int]], int]:
    """Each character of `text`'s words found in the page's `stream` (in order, from
    `cursor`): (offset in text, offset + 1, index in stream); and where to go on."""
    spans: list[tuple[int, int, int]] = []  # element offset, end, first char index
    position = 0
    for word in text.split():
        offset = text.index(word, position)
        position = offset + len(word)
        found = stream.find(word, cursor, cursor + _SEARCH_AHEAD + len(word))
        if found < 0:
            continue
        for k in range(len(word)):
            spans.append((offset + k, offset + k + 1, found + k))
        cursor = found + len(word)
    return spans, cursor


def _lines(spans: list[tuple[int, int, int]], chars: list[_Char], page: int) -> list[Region]:
    """Consecutive characters on one line become one region (a new line: the next character
    starts left of the last one, or below it)."""
    regions: list[Region] = []
    start = end = -1
    box: Box | None = None
    for offset, stop, index in spans:
        char = chars[index].box
        if box is not None and (char[0] < box[0] or char[1] >= box[3]):
            regions.append(Region(start, end, page, box))
            box = None
        if box is None:
            start, box = offset, char
        else:
            box = (
                min(box[0], char[0]),
                min(box[1], char[1]),
                max(box[2], char[2]),
                max(box[3], char[3]),
            )
        end = stop
    if box is not None:
        regions.append(Region(start, end, page, box))
    return regions
