"""The pictures inside a Word (.docx) or PowerPoint (.pptx) file, in the order they appear.

Read straight from the zip (the guards have checked it is not a bomb): a Word document's
pictures in the order its body refers to them, a deck's slide by slide. Icons and rules (too
small to hold a line of text) and formats Pillow cannot decode (EMF, SVG) are passed over.
"""

from __future__ import annotations

import io
import posixpath
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ingest.errors import ParseError
from ingest.images import MAX_OCR_SIDE

if TYPE_CHECKING:
    from PIL.Image import Image

MAX_PICTURES = 200  # pictures read in one file
MIN_SIDE = 24  # pixels: anything thinner holds no line of text
_EMBED = re.compile(rb'r:(?:embed|link|id)="([^"]+)"')
_RELATIONSHIP = re.compile(rb"<Relationship\b[^>]*>")
_ATTRIBUTE = re.compile(rb'(\w+)="([^"]*)"')
_SLIDE = re.compile(r"^ppt/slides/slide(\d+)\.xml$")


@dataclass
class Picture:
    image: Image
    slide: int | None  # PowerPoint: the slide it is on; Word: None


def office_pictures(path: Path, max_pixels: int) -> Iterator[Picture]:
    with zipfile.ZipFile(path) as archive:
        names = set(archive.namelist())
        for part, slide in _picture_parts(archive, path.suffix.lower(), names)[:MAX_PICTURES]:
            image = _decoded(archive.read(part), part, max_pixels)
            if image is not None:
                yield Picture(image, slide)


def _picture_parts(
    archive: zipfile.ZipFile, suffix: str, names: set[str]
) -> list[tuple[str, int | None]]:
    if suffix == ".docx":
        return [(part, None) for part in _referenced(archive, "word/document.xml", names)]
    slides = sorted((int(found.group(1)), name) for name in names if (found := _SLIDE.match(name)))
    return [(part, number) for number, name in slides for part in _referenced(archive, name, names)]


def _referenced(archive: zipfile.ZipFile, part: str, names: set[str]) -> list[str]:
    """The media parts `part` refers to, in the order of its references, each once."""
    if part not in names:
        return []
    folder, base = posixpath.split(part)
    rels = posixpath.join(folder, "_rels", base + ".rels")
    targets = _targets(archive.read(rels), folder) if rels in names else {}
    found: dict[str, None] = {}
    for ref in _EMBED.findall(archive.read(part)):
        target = targets.get(ref.decode("utf-8", "replace"))
        if target in names and target.startswith(("word/media/", "ppt/media/")):
            found.setdefault(target, None)
    return list(found)


def _targets(rels: bytes, folder: str) -> dict[str, str]:
    targets = {}
    for tag in _RELATIONSHIP.findall(rels):
        attributes = {k.decode(): v.decode("utf-8", "replace") for k, v in _ATTRIBUTE.findall(tag)}
        if attributes.get("TargetMode") == "External" or "Id" not in attributes:
            continue
        target = attributes.get("Target", "")
        resolved = target.lstrip("/") if target.startswith("/") else posixpath.join(folder, target)
        targets[attributes["Id"]] = posixpath.normpath(resolved)
    return targets


def _decoded(data: bytes, part: str, max_pixels: int) -> Image | None:
    """The picture, decoded, or None for one docent passes over."""
    from PIL import Image as PILImage
    from PIL import UnidentifiedImageError

    PILImage.MAX_IMAGE_PIXELS = None  # our own limit applies, with a reason to show
    try:
        image = PILImage.open(io.BytesIO(data))
    except UnidentifiedImageError:
        return None  # EMF, WMF, SVG: drawings, not scans
    width, height = image.size
    if width * height > max_pixels:
        raise ParseError(
            f"refusing a picture inside the file ({posixpath.basename(part)}) of"
            f" {width:,}×{height:,} pixels, over the {max_pixels / 1e6:.0f} megapixel limit"
            " (decompression bomb?)"
        )
    if min(width, height) < MIN_SIDE:
        return None
    try:
        image.load()
    except (OSError, ValueError):
        return None  # a damaged picture does not stop the document's text
    image.thumbnail((MAX_OCR_SIDE, MAX_OCR_SIDE))
    return image
