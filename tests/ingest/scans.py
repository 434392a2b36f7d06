"""Scanned pages made on the spot: real text drawn into a picture at a scanner's resolution,
with noise and a slight rotation, saved as PNG, TIFF, a picture-only PDF, a PDF with text and
scanned pages, or a Word file holding the picture. Seeded, so a failure reproduces.

Pillow's own font (no system font needed) draws the text; 11 pt at `dpi`.
"""

from __future__ import annotations

import io
import random
from collections.abc import Sequence
from pathlib import Path

import docx
from fpdf import FPDF
from PIL import Image, ImageDraw, ImageFilter, ImageFont

POINT = 1 / 72  # inch
LEAVE = (
    "Annual leave is 25 working days per year.",
    "Requests go to your manager two weeks ahead.",
    "Unused days carry over until the end of March.",
)
FIRE = (
    "In case of fire, leave by the nearest stairs.",
    "Meet at the assembly point in the north car park.",
)


def scanned(
    lines: Sequence[str],
    *,
    dpi: int = 200,
    width_in: float = 6.0,
    height_in: float | None = None,
    rotate: float = 0.0,
    noise: float = 0.0,
    seed: int = 0,
    font_pt: float = 11.0,
) -> Image.Image:
    """A grey page with `lines` in paragraphs (a blank line in `lines` leaves a gap)."""
    size = round(font_pt * POINT * dpi)
    font = ImageFont.load_default(size=size)
    margin = round(0.5 * dpi)
    step = round(size * 1.5)
    height = round(height_in * dpi) if height_in else 2 * margin + step * len(lines)
    page = Image.new("L", (round(width_in * dpi), height), 255)
    draw = ImageDraw.Draw(page)
    for row, line in enumerate(lines):
        draw.text((margin, margin + row * step), line, font=font, fill=20)
    if rotate:
        page = page.rotate(rotate, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=255)
    if noise:
        page = _speckled(page, noise, seed)
    return page


def _speckled(page: Image.Image, amount: float, seed: int) -> Image.Image:
    """Scanner noise: grey speckles over a fraction `amount` of the pixels, slightly blurred."""
    rng = random.Random(seed)
    pixels = page.load()
    assert pixels is not None
    width, height = page.size
    for _ in range(int(width * height * amount)):
        x, y = rng.randrange(width), rng.randrange(height)
        pixels[x, y] = rng.choice((60, 120, 200))
    return page.filter(ImageFilter.GaussianBlur(0.6))


def save_png(image: Image.Image, path: Path, dpi: int = 200) -> Path:
    image.save(path, dpi=(dpi, dpi))
    return path


def save_pdf(pages: Sequence[Image.Image], path: Path, dpi: int = 200) -> Path:
    """A PDF whose pages are pictures only (no text layer), as a scanner writes."""
    first, *rest = [page.convert("RGB") for page in pages]
    first.save(path, "PDF", resolution=float(dpi), save_all=True, append_images=rest)
    return path


def save_tiff(pages: Sequence[Image.Image], path: Path, dpi: int = 200) -> Path:
    first, *rest = pages
    first.save(
        path, "TIFF", dpi=(dpi, dpi), save_all=True, append_images=rest, compression="tiff_deflate"
    )
    return path


def mixed_pdf(path: Path, text_lines: Sequence[str], scan: Image.Image, dpi: int = 200) -> Path:
    """Page 1 with a text layer; page 2 a scanned picture (no text)."""
    pdf = FPDF(unit="pt", format="letter")
    pdf.set_font("Helvetica", size=12)
    pdf.add_page()
    for line in text_lines:
        pdf.cell(0, 18, line, new_x="LMARGIN", new_y="NEXT")
    pdf.add_page()
    buffer = io.BytesIO()
    scan.convert("RGB").save(buffer, "PNG")
    pdf.image(buffer, x=36, y=36, w=scan.width * 72 / dpi)
    pdf.output(str(path))
    return path


def docx_with_scan(path: Path, heading: str, scan: Image.Image) -> Path:
    """A Word file: a heading, a sentence, and a scanned page pasted in as a picture."""
    document = docx.Document()
    document.add_heading(heading, level=1)
    document.add_paragraph("The signed copy is below.")
    buffer = io.BytesIO()
    scan.save(buffer, "PNG")
    buffer.seek(0)
    document.add_picture(buffer, width=docx.shared.Inches(6))
    document.save(str(path))
    return path


def char_accuracy(expected: str, got: str) -> float:
    """1 - (character edit distance / length of the expected text), spaces collapsed."""
    from rapidfuzz.distance import Levenshtein

    want, have = " ".join(expected.split()), " ".join(got.split())
    return max(0.0, 1 - Levenshtein.distance(want, have) / max(1, len(want)))
