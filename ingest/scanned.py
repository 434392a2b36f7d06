"""Text from pictures, in the parser: picture files, PDF pages without a usable text layer, and
pictures inside Word and PowerPoint files. Each page or picture is decoded, read and let go
before the next (memory bounded by one page); the parse timeout covers it all.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from ingest.errors import ParseError, Refused
from ingest.images import icon_size, picture_pages
from ingest.ocr import OcrOptions, PageText, engine_for, read_page
from ingest.office_pictures import office_pictures
from ingest.pdf_pages import (
    DamagedPdf,
    PageTooLarge,
    opened,
    page_layers,
    rendered,
    text_layer_regions,
)
from ingest.types import Element


@dataclass
class Reading:
    """Elements with what a person should know about how they were read."""

    elements: list[Element]
    pages: int | None = None
    notes: list[str] = field(default_factory=list)


def read_picture_file(path: Path, ocr: OcrOptions) -> Reading:
    if not ocr.enabled:
        raise ParseError("pictures are read by OCR, which is off (DOCENT_OCR=off)")
    if (icon := icon_size(path)) is not None:
        raise Refused(f"a {icon[0]}×{icon[1]} picture is an icon, too small to hold text")
    engine = engine_for(ocr)
    texts = [
        read_page(engine, image, number, ocr)
        for number, image in picture_pages(path, ocr.max_pixels, ocr.max_frames)
    ]
    elements = [element for text in texts for element in text.elements]
    if not elements:
        raise ParseError(_nothing_read(texts, "picture"))
    return Reading(elements, len(texts), _notes(texts))


def read_pdf(path: Path, elements: Sequence[Element], ocr: OcrOptions) -> Reading:
    """The text layer's elements, with the pages that have none read by OCR instead, and
    every element placed on its page (OCR boxes, or the text layer's character boxes)."""
    try:
        layers = page_layers(path)
    except DamagedPdf:  # what pdfium cannot open, pdfminer may have read: keep its text
        return Reading(list(elements))
    to_read = [
        layer.number for layer in layers if ocr.enabled and layer.needs_ocr(ocr.mode == "force")
    ]
    texts = _read_pdf_pages(path, to_read, ocr)
    merged = _merged(elements, {t.page: t.elements for t in texts})
    placed = text_layer_regions(path, merged)
    if not placed and texts:
        raise ParseError(_nothing_read(texts, "scanned PDF"))
    return Reading(placed, len(layers) or None, _notes(texts))


def _read_pdf_pages(path: Path, numbers: Sequence[int], ocr: OcrOptions) -> list[PageText]:
    if not numbers:
        return []
    engine = engine_for(ocr)
    texts = []
    with opened(path) as document:
        for number in numbers:
            try:
                image = rendered(document, number, ocr.dpi, ocr.max_pixels)
            except PageTooLarge as exc:
                raise ParseError(f"refusing to read {exc} (decompression bomb?)") from exc
            texts.append(read_page(engine, image, number, ocr))
            del image
    return texts


def _merged(elements: Sequence[Element], read: dict[int, list[Element]]) -> list[Element]:
    """Pages in order: the OCR reading of a page replaces its text-layer elements."""
    by_page: dict[int, list[Element]] = {}
    page = 0
    for element in elements:
        page = element.page if element.page is not None else page
        by_page.setdefault(page, []).append(element)
    result: list[Element] = []
    for number in sorted(set(by_page) | set(read)):
        result += read[number] if number in read else by_page[number]
    return result


def read_office_pictures(path: Path, elements: Sequence[Element], ocr: OcrOptions) -> Reading:
    """A Word or PowerPoint file's text with the text of its pictures: a slide's after the
    slide's own text, a Word document's at its end (in the order they appear)."""
    if not ocr.enabled:
        return Reading(list(elements))
    engine = engine_for(ocr)
    texts: list[tuple[int | None, PageText]] = []
    for picture in office_pictures(path, ocr.max_pixels):
        text = read_page(engine, picture.image, picture.slide or 0, ocr)
        texts.append((picture.slide, text))
    read: dict[int, list[Element]] = {}
    for slide, text in texts:
        unplaced = [replace(e, page=slide, regions=()) for e in text.elements]
        read.setdefault(slide or 0, []).extend(unplaced)
    result = _with_pictures(elements, read)
    return Reading(result, None, _doubtful_note(t for _, t in texts))


def _with_pictures(elements: Sequence[Element], read: dict[int, list[Element]]) -> list[Element]:
    result: list[Element] = []
    for index, element in enumerate(elements):
        result.append(element)
        following = elements[index + 1].page if index + 1 < len(elements) else None
        if element.page is not None and following != element.page:
            result += read.pop(element.page, [])
    for slide in sorted(read):  # a Word document's pictures, and slides with no text
        result += read[slide]
    return result


def _nothing_read(texts: Sequence[PageText], what: str) -> str:
    doubtful = sum(t.doubtful for t in texts)
    if doubtful:
        return (
            f"no text found: OCR read this {what} only with low confidence"
            f" ({doubtful} lines left out; a blurred or low-resolution scan?)"
        )
    return f"no text found: OCR found no text in this {what}"


def _notes(texts: Sequence[PageText]) -> list[str]:
    empty = [t.page for t in texts if t.empty]
    notes = [f"OCR found no text on {_pages(empty)}"] if empty else []
    return notes + _doubtful_note(texts)


def _doubtful_note(texts: Iterable[PageText]) -> list[str]:
    doubtful = sum(t.doubtful for t in texts)
    return [f"{doubtful} lines read with low confidence were left out"] if doubtful else []


def _pages(numbers: Sequence[int]) -> str:
    shown = ", ".join(str(n) for n in numbers[:10])
    more = f" and {len(numbers) - 10} more" if len(numbers) > 10 else ""
    return f"page{'s' if len(numbers) > 1 else ''} {shown}{more}"
