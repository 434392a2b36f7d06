"""Hostile pictures: decompression bombs (pixels, TIFF pages, a huge PDF page, a bomb inside a
Word file), damaged and disguised pictures. Each is refused or failed with a reason, before its
pixels are decoded, and the rest of the batch is ingested."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import pytest
from PIL import Image

from ingest.catalog import Catalog
from ingest.ocr import OcrOptions
from ingest.pipeline import IngestOptions, ingest_paths
from ingest.store import QdrantStore
from tests.fakes import FakeEmbedder, FakeOcr, ocr_lines
from tests.ingest.scans import LEAVE, docx_with_scan, save_pdf, save_tiff


def png_header_only(path: Path, width: int, height: int) -> Path:
    """A PNG that claims `width` x `height` pixels (1-bit) and holds almost nothing."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    pixels = zlib.compress(b"\0" * 64)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )
    return path


def hostile_pictures(folder: Path) -> dict[str, str]:
    """File name -> a fragment of the reason it must be given."""
    folder.mkdir()
    png_header_only(folder / "bomb.png", 100_000, 100_000)
    small = Image.new("L", (40, 40), 255)
    save_tiff([small] * 7, folder / "many-pages.tiff")
    good = folder / "good.png"
    Image.new("L", (200, 100), 255).save(good)
    (folder / "cut.png").write_bytes(good.read_bytes()[:60])
    (folder / "disguised.jpg").write_text("not a picture at all\n")
    save_pdf([Image.new("L", (100, 100), 255)], folder / "poster.pdf", dpi=1)  # 100 inches
    bomb = Image.new("1", (9000, 9000), 1)
    docx_with_scan(folder / "bomb-inside.docx", "Cover", bomb)
    return {
        "bomb.png": "decompression bomb",
        "many-pages.tiff": "more than 5 pages",
        "cut.png": "damaged",
        "disguised.jpg": "not a picture",
        "poster.pdf": "megapixel limit",
        "bomb-inside.docx": "megapixel limit",
    }


def test_hostile_pictures_get_reasons_and_the_rest_of_the_batch_is_ingested(
    tmp_path: Path, embedder: FakeEmbedder, store: QdrantStore, catalog: Catalog
) -> None:
    folder = tmp_path / "pictures"
    expected = hostile_pictures(folder)
    ocr = OcrOptions(max_pixels=50_000_000, max_frames=5, engine=FakeOcr([ocr_lines(*LEAVE)]))
    results = ingest_paths(
        [folder], embedder=embedder, store=store, catalog=catalog, options=IngestOptions(ocr=ocr)
    )
    by_name = {Path(r.source).name: r for r in results}
    assert by_name["good.png"].status == "new"
    for name, fragment in expected.items():
        result = by_name[name]
        assert result.status == "failed", (name, result)
        assert fragment in (result.reason or ""), (name, result.reason)


def test_a_picture_is_refused_before_its_pixels_are_decoded(tmp_path: Path) -> None:
    """The bomb above claims 10 gigapixels: decoding it would take 1.2 GB; the refusal reads
    its header only (the whole run stays far below that)."""
    import tracemalloc

    from ingest.guards import check_file

    path = png_header_only(tmp_path / "bomb.png", 100_000, 100_000)
    tracemalloc.start()
    with pytest.raises(Exception, match="decompression bomb"):
        check_file(path, 1 << 20, OcrOptions(max_pixels=1_000_000))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 5 << 20
