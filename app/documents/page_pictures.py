"""A page of a catalogued PDF or picture file as a PNG, for the source panel: rendered when
first asked for, then served from a cache folder (keyed by the file's hash, so a changed file
never shows an old picture). The cache keeps the most recently used pictures within a size."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from ingest.catalog import DocumentRecord
from ingest.errors import ParseError
from ingest.images import IMAGE_SUFFIXES, picture_page
from ingest.pdf_pages import DamagedPdf, PageTooLarge, opened, rendered

if TYPE_CHECKING:
    from PIL.Image import Image

SHOWN_DPI = 110  # sharp enough to read on a screen, small enough to send
MAX_SIDE = 1600  # pixels: larger pictures are scaled down for showing
MAX_PIXELS = 200_000_000  # a page that would render larger is not shown
CACHE_BYTES = 256 << 20


class NoPicture(LookupError):
    """The document has no such page to show; the message says why."""


def shows_pages(source: str) -> bool:
    """Documents whose pages can be shown as pictures: PDFs and picture files."""
    suffix = Path(source).suffix.lower()
    return suffix == ".pdf" or suffix in IMAGE_SUFFIXES


def page_picture(record: DocumentRecord, original: Path, page: int, cache: Path) -> Path:
    """The cached PNG of `page` (from 1) of the document, rendering it if need be."""
    if not shows_pages(record.source):
        raise NoPicture("only PDFs and pictures are shown page by page")
    if page < 1 or (record.pages is not None and page > record.pages):
        raise NoPicture(f"the document has no page {page}")
    cached = cache / f"{record.content_hash}-{page}.png"
    if cached.exists():
        os.utime(cached)  # recently used
        return cached
    cache.mkdir(parents=True, exist_ok=True)
    picture = _rendered(original, page)
    with tempfile.NamedTemporaryFile(dir=cache, suffix=".part", delete=False) as handle:
        picture.save(handle, "PNG", optimize=False)
    Path(handle.name).replace(cached)  # whole or not at all, for a concurrent reader
    _trim(cache, CACHE_BYTES)
    return cached


def _rendered(original: Path, page: int) -> Image:
    try:
        if original.suffix.lower() == ".pdf":
            with opened(original) as document:
                if page > len(document):
                    raise NoPicture(f"the document has no page {page}")
                picture = rendered(document, page, SHOWN_DPI, MAX_PIXELS)
        else:
            picture = picture_page(original, page, MAX_PIXELS).convert("RGB")
    except (DamagedPdf, PageTooLarge, ParseError, OSError) as exc:
        raise NoPicture(f"the page cannot be shown: {exc}") from exc
    picture.thumbnail((MAX_SIDE, MAX_SIDE))
    return picture


def _trim(cache: Path, limit: int) -> None:
    """Delete the least recently used pictures until the folder is within `limit` bytes."""
    entries = []
    for entry in cache.glob("*.png"):
        try:
            stat = entry.stat()
        except FileNotFoundError:
            continue
        entries.append((stat.st_mtime, stat.st_size, entry))
    total = sum(size for _, size, _ in entries)
    for _, size, entry in sorted(entries):
        if total <= limit:
            break
        entry.unlink(missing_ok=True)
        total -= size
