"""Picture files (PNG, JPEG, TIFF with its pages, WebP, BMP), opened with limits.

The header is read first: a picture with more pixels than the limit, or a TIFF with more pages
than the limit, is refused before any pixel is decoded (decompression bombs). Pages are decoded
one at a time, so memory is bounded by one page.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from ingest.errors import ParseError

if TYPE_CHECKING:
    from PIL.Image import Image

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".tif", ".tiff", ".webp", ".bmp"})
MAX_OCR_SIDE = 4000  # a larger picture is scaled down before reading (the engine scales it further)
ICON_SIDE = 32  # a picture whose sides are both shorter is an icon: no text to read


@contextmanager
def _opened(path: Path) -> Iterator[Image]:
    """The picture, lazily (nothing decoded yet); ParseError when it is not one."""
    from PIL import Image as PILImage
    from PIL import UnidentifiedImageError

    PILImage.MAX_IMAGE_PIXELS = None  # our own limit applies, with a reason to show
    try:
        with PILImage.open(path) as image:
            yield image
    except UnidentifiedImageError as exc:
        raise ParseError(
            f"not a picture docent can read (damaged, or not a {path.suffix} file)"
        ) from exc


def icon_size(path: Path) -> tuple[int, int] | None:
    """The picture's size when it is an icon (both sides under ICON_SIDE pixels), else None.
    Documentation folders carry their theme's icons (Sphinx's 11×11 "plus.png"); OCR makes
    a passage of a stray letter read off one."""
    with _opened(path) as image:
        width, height = image.size
    return (width, height) if max(width, height) < ICON_SIDE else None


def check_picture(path: Path, max_pixels: int, max_frames: int) -> int:
    """The number of pages, after checking each page's size without decoding it."""
    with _opened(path) as image:
        frames = 0
        for frame in _frames(image, max_frames + 1):
            frames += 1
            if frames > max_frames:
                raise ParseError(f"refusing a picture of more than {max_frames} pages (TIFF bomb?)")
            _check_size(frame, frames, max_pixels)
        return frames


def _check_size(image: Image, page: int, max_pixels: int) -> None:
    width, height = image.size
    if width * height > max_pixels:
        where = f"page {page} is " if page > 1 else ""
        raise ParseError(
            f"refusing a picture whose {where}{width:,}×{height:,} pixels"
            f" ({width * height / 1e6:.0f} megapixels) are over the {max_pixels / 1e6:.0f}"
            " megapixel limit (decompression bomb?)"
        )


def _frames(image: Image, limit: int) -> Iterator[Image]:
    """The picture's pages, at most `limit` (seeking reads only each page's header)."""
    count = getattr(image, "n_frames", 1) if image.format != "TIFF" else limit
    for index in range(min(count, limit)):
        try:
            image.seek(index)
        except EOFError:
            return
        yield image


def picture_pages(path: Path, max_pixels: int, max_frames: int) -> Iterator[tuple[int, Image]]:
    """Each page (from 1) decoded, turned upright (a photo's EXIF orientation) and scaled to
    at most MAX_OCR_SIDE pixels a side."""
    from PIL import ImageOps
    from PIL.Image import DecompressionBombWarning

    check_picture(path, max_pixels, max_frames)
    with _opened(path) as image:
        for number, frame in enumerate(_frames(image, max_frames), 1):
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("error", DecompressionBombWarning)
                    page = ImageOps.exif_transpose(frame.copy())
            except (OSError, ValueError) as exc:
                raise ParseError(f"damaged picture (page {number}): {exc}") from exc
            page.thumbnail((MAX_OCR_SIDE, MAX_OCR_SIDE))
            yield number, page


def picture_page(path: Path, number: int, max_pixels: int) -> Image:
    """Page `number` (from 1) of a picture file, decoded and upright, for showing."""
    from PIL import ImageOps

    with _opened(path) as image:
        try:
            image.seek(number - 1)
        except EOFError:
            raise ParseError(f"the picture has no page {number}") from None
        _check_size(image, number, max_pixels)
        try:
            return ImageOps.exif_transpose(image.copy())
        except (OSError, ValueError) as exc:
            raise ParseError(f"damaged picture (page {number}): {exc}") from exc
