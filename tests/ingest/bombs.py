"""Bombs for ingestion tests, written by hand: zip bombs with honest and lying headers, XML
entity bombs, a PDF whose page content inflates to megabytes, and damaged copies of real files.

Deflate streams are assembled from one packed megabyte (a full flush makes blocks independent),
so a gigabyte of padding costs milliseconds to write.
"""

from __future__ import annotations

import io
import struct
import tempfile
import zipfile
import zlib
from collections.abc import Callable
from functools import cache
from pathlib import Path

import docx
import openpyxl
import pptx
import pypandoc

from tests.ingest.hostile import ANY, FAILED, Case

_MAIN_PART = {
    ".docx": "word/document.xml",
    ".xlsx": "xl/worksheets/sheet1.xml",
    ".pptx": "ppt/slides/slide1.xml",
    ".epub": "EPUB/text/ch001.xhtml",
}
_MB = 1 << 20


def ratio_bomb(folder: Path, suffix: str, unpacked_mb: int = 64) -> Case:
    """A real document whose main part is padded with megabytes of spaces (honest headers)."""
    path = folder / f"bomb{suffix}"
    path.write_bytes(_bomb_zip(suffix, unpacked_mb, honest=True))
    return Case(path, f"zip bomb as {suffix} ({unpacked_mb} MB inside)", FAILED, "zip bomb")


def lying_bomb(folder: Path, suffix: str, unpacked_mb: int = 1024) -> Case:
    """The same, but the zip headers claim 1 KB: only the inflater learns the truth."""
    path = folder / f"liar{suffix}"
    path.write_bytes(_bomb_zip(suffix, unpacked_mb, honest=False))
    return Case(path, f"{suffix} whose zip headers hide {unpacked_mb} MB", FAILED)


def many_members_bomb(folder: Path, suffix: str, members: int = 25_000) -> Case:
    path = folder / f"crowded{suffix}"
    parts = _template(suffix)
    parts |= {f"customXml/item{index}.xml": b"" for index in range(members)}
    path.write_bytes(
        _raw_zip([(name, data, len(data), zlib.crc32(data)) for name, data in parts.items()])
    )
    return Case(path, f"{suffix} of {members} parts", FAILED, "parts")


def entity_bomb(folder: Path, suffix: str) -> Case:
    """A "billion laughs" XML entity expansion as the main part of a real document."""
    lines = ['<?xml version="1.0"?>', "<!DOCTYPE lolz [", '<!ENTITY lol0 "lol">']
    lines += [f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10)]
    lines += ["]>", "<root>&lol9;</root>"]
    parts = _template(suffix) | {_MAIN_PART[suffix]: "\n".join(lines).encode()}
    path = folder / f"laughs{suffix}"
    path.write_bytes(
        _raw_zip([(name, data, len(data), zlib.crc32(data)) for name, data in parts.items()])
    )
    # pandoc (EPUB) shows the declarations as text and expands nothing: harmless junk
    return Case(path, f"XML entity bomb in a {suffix}", ANY if suffix == ".epub" else FAILED)


@cache
def _template(suffix: str) -> dict[str, bytes]:
    """The parts of a small real document of this format, made by its own library."""
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / f"template{suffix}"
        _TEMPLATE_WRITERS[suffix](path)
        with zipfile.ZipFile(path) as archive:
            return {name: archive.read(name) for name in archive.namelist()}


def _bomb_zip(suffix: str, unpacked_mb: int, *, honest: bool) -> bytes:
    """The template with `unpacked_mb` MB of spaces after its main part's XML (still valid XML)."""
    members = []
    for name, data in _template(suffix).items():
        if name != _MAIN_PART[suffix]:
            members.append((name, data, len(data), zlib.crc32(data)))
            continue
        packed = _deflated_padding(data, unpacked_mb)
        if honest:
            size, crc = len(data) + unpacked_mb * _MB, _padded_crc(data, unpacked_mb)
        else:  # the CRC matches the first KB, so a reader that stops there sees no fault
            size, crc = 1024, zlib.crc32((data + b" " * 1024)[:1024])
        members.append((name, packed, size, crc))
    return _raw_zip(members, prepacked={_MAIN_PART[suffix]})


def _deflated_padding(head: bytes, megabytes: int) -> bytes:
    """A raw deflate stream of `head` then `megabytes` MB of spaces, built from one packed MB:
    blocks ended by a full flush refer to nothing before them, so they can be repeated."""
    first = zlib.compressobj(9, zlib.DEFLATED, -15)
    return (
        first.compress(head)
        + first.flush(zlib.Z_FULL_FLUSH)
        + _packed_mb() * megabytes
        + (zlib.compressobj(9, zlib.DEFLATED, -15).flush())
    )


@cache
def _packed_mb() -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    return packer.compress(b" " * _MB) + packer.flush(zlib.Z_FULL_FLUSH)


def _padded_crc(head: bytes, megabytes: int) -> int:
    crc = zlib.crc32(head)
    block = b" " * _MB
    for _ in range(megabytes):
        crc = zlib.crc32(block, crc)
    return crc


def _raw_zip(
    members: list[tuple[str, bytes, int, int]], prepacked: frozenset[str] | set[str] = frozenset()
) -> bytes:
    """A zip written by hand, so that declared sizes and CRCs can lie. Members named in
    `prepacked` are raw deflate streams already; others are packed here."""
    body: list[bytes] = []
    directory: list[bytes] = []
    offset = 0
    for name, data, size, crc in members:
        raw_name = name.encode()
        stored = name == "mimetype"  # EPUB wants it first and uncompressed
        method = 0 if stored else 8
        packed = data if stored or name in prepacked else _deflate(data)
        header = struct.pack(
            "<IHHHHHIIIHH", 0x04034B50, 20, 0, method, 0, 0, crc, len(packed), size,
            len(raw_name), 0,
        )  # fmt: skip
        entry = struct.pack(
            "<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, method, 0, 0, crc, len(packed), size,
            len(raw_name), 0, 0, 0, 0, 0, offset,
        )  # fmt: skip
        directory.append(entry + raw_name)
        body.append(header + raw_name + packed)
        offset += len(body[-1])
    count = len(members)
    listing = b"".join(directory)
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, count, count, len(listing), offset, 0)
    return b"".join(body) + listing + end


def _deflate(data: bytes) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    return packer.compress(data) + packer.flush()


def _docx_template(path: Path) -> None:
    document = docx.Document()
    document.add_paragraph("A template paragraph.")
    document.save(str(path))


def _xlsx_template(path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["template", 1])
    book.save(str(path))


def _pptx_template(path: Path) -> None:
    deck = pptx.Presentation()
    slide = deck.slides.add_slide(deck.slide_layouts[1])
    slide.shapes.title.text = "Template"
    deck.save(str(path))


def _epub_template(path: Path) -> None:
    pypandoc.convert_text(
        "# Template\n\nA template chapter.\n",
        "epub",
        format="md",
        outputfile=str(path),
        extra_args=["--metadata", "title=Template"],
    )


_TEMPLATE_WRITERS: dict[str, Callable[[Path], None]] = {
    ".docx": _docx_template,
    ".xlsx": _xlsx_template,
    ".pptx": _pptx_template,
    ".epub": _epub_template,
}


# --- PDF bomb and damaged files ----------------------------------------------------------


def pdf_bomb(folder: Path, unpacked_mb: int = 64) -> Case:
    """A one-page PDF whose content stream inflates to `unpacked_mb` MB (text, then spaces):
    tiny on disk, minutes of work for a parser that reads content in Python."""
    head = b"BT /F1 12 Tf 72 712 Td (The bomb says hello) Tj ET\n"
    adler = zlib.adler32(head)
    for _ in range(unpacked_mb):
        adler = zlib.adler32(b" " * _MB, adler)
    content = b"\x78\xda" + _deflated_padding(head, unpacked_mb) + adler.to_bytes(4, "big")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n%b\nendstream" % (len(content), content),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    path = folder / "bomb.pdf"
    path.write_bytes(_raw_pdf(objects))
    return Case(path, f"PDF whose page content inflates to {unpacked_mb} MB", FAILED, "PDF bomb")


def _raw_pdf(objects: list[bytes]) -> bytes:
    out, offsets = b"%PDF-1.4\n", []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%b\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    trailer = b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n"
    return out + trailer % (len(objects) + 1, xref)


def damaged(template: bytes, suffix: str, cuts: list[tuple[int, bytes]], keep: float) -> bytes:
    """A real file with byte runs overwritten and its tail cut off. In an office file or EPUB
    the damage goes into the main part and the zip around it stays sound, so that the damaged
    XML reaches the parser instead of stopping at the zip check."""
    if suffix not in _MAIN_PART:
        return _overwritten(template, cuts, keep)
    with zipfile.ZipFile(io.BytesIO(template)) as archive:
        parts = {name: archive.read(name) for name in archive.namelist()}
    main = (
        _MAIN_PART[suffix]
        if _MAIN_PART[suffix] in parts
        else max(parts, key=lambda n: len(parts[n]))
    )
    parts[main] = _overwritten(parts[main], cuts, keep)
    return _raw_zip([(name, data, len(data), zlib.crc32(data)) for name, data in parts.items()])


def _overwritten(data: bytes, cuts: list[tuple[int, bytes]], keep: float) -> bytes:
    kept = bytearray(data[: max(1, int(len(data) * keep))])
    for position, chunk in cuts:
        at = position % len(kept)
        kept[at : at + len(chunk)] = chunk
    return bytes(kept)
