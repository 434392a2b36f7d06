"""Hostile and broken files for ingestion tests, generated on the spot (nothing checked in).

Each writer makes one file and returns a `Case`: where it is, what it is, and which statuses
(and reason fragment) the pipeline may honestly give it. Random content comes from seeded
generators, so a failure reproduces.
"""

from __future__ import annotations

import io
import os
import random
import struct
import tempfile
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from functools import cache
from pathlib import Path

import docx
import openpyxl
import pptx
import pypandoc
from fpdf import FPDF
from pypdf import PdfWriter

SUFFIXES: tuple[str, ...] = (".pdf", ".docx", ".pptx", ".xlsx", ".csv", ".tsv", ".html")
SUFFIXES += (".md", ".txt", ".eml", ".epub")
ZIP_SUFFIXES = (".docx", ".xlsx", ".pptx", ".epub")
FAILED = frozenset({"failed"})
SKIPPED = frozenset({"skipped"})
REFUSED = frozenset({"failed", "skipped"})
ANY = frozenset({"new", "failed", "skipped"})


@dataclass(frozen=True)
class Case:
    """One hostile file and what the pipeline may say about it."""

    path: Path
    kind: str
    statuses: frozenset[str]
    reason: str = ""  # a fragment the reason must contain (case-insensitive)


# --- good files ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Good:
    """A document that must come out searchable: `word` appears in it and nowhere else."""

    path: Path
    word: str


def good_files(folder: Path) -> list[Good]:
    """One good document per common format, each with a word of its own."""
    folder.mkdir(parents=True, exist_ok=True)
    made = [
        _good_md(folder / "handbook.md", "zeppelin"),
        _good_pdf(folder / "policy.pdf", "quokka"),
        _good_docx(folder / "leave.docx", "marzipan"),
        _good_xlsx(folder / "budget.xlsx", "tamarind"),
        _good_pptx(folder / "results.pptx", "gondola"),
        _good_eml(folder / "notice.eml", "saxophone"),
    ]
    (folder / "faq.html").write_text(
        "<html><body><h1>FAQ</h1><p>The wombat parking rules apply on weekdays only.</p>"
        "</body></html>"
    )
    (folder / "rota.csv").write_text("day,person\nMonday,Ada lighthouse\nTuesday,Grace\n")
    return [*made, Good(folder / "faq.html", "wombat"), Good(folder / "rota.csv", "lighthouse")]


def _good_md(path: Path, word: str) -> Good:
    path.write_text(f"# Handbook\n\nThe {word} room on the third floor is for quiet work.\n")
    return Good(path, word)


def _good_pdf(path: Path, word: str) -> Good:
    pdf_text(path, f"Expense claims mention the {word} code within thirty days.")
    return Good(path, word)


def _good_docx(path: Path, word: str) -> Good:
    document = docx.Document()
    document.add_heading("Leave", level=1)
    document.add_paragraph(f"Employees get twenty days of leave and a {word} voucher.")
    document.save(str(path))
    return Good(path, word)


def _good_xlsx(path: Path, word: str) -> Good:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["item", "cost"])
    sheet.append([f"{word} supplies", 120])
    book.save(str(path))
    return Good(path, word)


def _good_pptx(path: Path, word: str) -> Good:
    deck = pptx.Presentation()
    slide = deck.slides.add_slide(deck.slide_layouts[1])
    slide.shapes.title.text = "Results"
    slide.placeholders[1].text = f"The {word} project shipped on time."
    deck.save(str(path))
    return Good(path, word)


def _good_eml(path: Path, word: str) -> Good:
    message = EmailMessage()
    message["Subject"] = "Office notice"
    message["From"] = "facilities@example.com"
    message["To"] = "all@example.com"
    message.set_content(f"The {word} rehearsal room is closed on Friday afternoon.")
    path.write_bytes(bytes(message))
    return Good(path, word)


def pdf_text(path: Path, text: str) -> None:
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", size=12)
    pdf.set_y(60)
    pdf.multi_cell(0, 10, text)
    pdf.output(str(path))


# --- broken content --------------------------------------------------------------------------


def random_bytes(folder: Path, suffix: str, seed: int, size: int = 4096) -> Case:
    """Uniform random bytes (NULs included) under a supported extension."""
    path = folder / f"random{suffix}"
    path.write_bytes(random.Random(seed).randbytes(size))
    return Case(path, f"random bytes as {suffix}", FAILED)


def random_text_bytes(folder: Path, suffix: str, seed: int, size: int = 4096) -> Case:
    """Random bytes with no NUL (passes a binary sniff): mojibake at best."""
    rng = random.Random(seed)
    path = folder / f"mojibake{suffix}"
    path.write_bytes(bytes(rng.randrange(1, 256) for _ in range(size)))
    return Case(path, f"random non-NUL bytes as {suffix}", ANY)


def nul_after_sniff(folder: Path) -> Case:
    """Text whose first NUL byte lies beyond the first 8 KB."""
    path = folder / "late-nul.txt"
    path.write_bytes(b"Plain words about the office.\n\n" * 400 + b"\0\0\0" + b"more words\n")
    return Case(path, "a NUL byte past the first 8 KB", ANY)


def empty_file(folder: Path, suffix: str) -> Case:
    path = folder / f"empty{suffix}"
    path.write_bytes(b"")
    return Case(path, f"empty {suffix}", FAILED, "empty file")


def truncated_pdf(folder: Path, fraction: float) -> Case:
    whole = folder / "whole.tmp"
    pdf_text(whole, "A document that will be cut short by a failing disk. " * 20)
    data = whole.read_bytes()
    whole.unlink()
    path = folder / f"truncated-{int(fraction * 100)}.pdf"
    path.write_bytes(data[: int(len(data) * fraction)])
    return Case(path, f"PDF cut at {fraction:.0%}", ANY if fraction > 0.8 else FAILED)


def header_only_pdf(folder: Path) -> Case:
    path = folder / "header-only.pdf"
    path.write_bytes(b"%PDF-1.7\n")
    return Case(path, "a PDF header and nothing else", FAILED)


def encrypted_pdf(folder: Path, algorithm: str) -> Case:
    """A PDF that needs a password to open."""
    plain = folder / "plain.tmp"
    pdf_text(plain, "Salary bands are reviewed every March.")
    writer = PdfWriter(clone_from=plain)
    writer.encrypt("hunter2", algorithm=algorithm)
    path = folder / f"encrypted-{algorithm.lower().replace('-', '')}.pdf"
    writer.write(path)
    plain.unlink()
    return Case(path, f"password-protected PDF ({algorithm})", REFUSED, "password")


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


def owner_locked_pdf(folder: Path) -> Case:
    """Encrypted with an empty user password: anyone may open and read it (no print/copy)."""
    plain = folder / "plain.tmp"
    pdf_text(plain, "The owner password only restricts printing of this pelican memo.")
    writer = PdfWriter(clone_from=plain)
    writer.encrypt(user_password="", owner_password="owner-secret", algorithm="AES-128")
    path = folder / "owner-locked.pdf"
    writer.write(path)
    plain.unlink()
    return Case(path, "PDF encrypted with an empty user password", frozenset({"new"}))


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


# --- zip bombs -------------------------------------------------------------------------------

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


# --- structure -------------------------------------------------------------------------------


def nested_html(folder: Path, depth: int = 100_000) -> Case:
    path = folder / "nested.html"
    path.write_text(
        "<html><body>" + "<div>" * depth + "deep text" + "</div>" * depth + "</body></html>"
    )
    return Case(path, f"HTML nested {depth} divs deep", ANY)


def nested_markdown(folder: Path, depth: int = 20_000) -> Case:
    path = folder / "nested.md"
    path.write_text(">" * depth + " deep quote\n")
    return Case(path, f"Markdown quote nested {depth} deep", ANY)


def huge_csv_field(folder: Path) -> Case:
    """One cell of 1 MB (Python's csv module refuses fields over 128 KB by default)."""
    path = folder / "wide-cell.csv"
    path.write_text("name,notes\nlong," + "x" * (1 << 20) + "\n")
    return Case(path, "a CSV cell of 1 MB", ANY)


def big_text(path: Path, megabytes: int) -> None:
    """Readable text (no NUL), written in 1 MB blocks."""
    line = b"All work and no play makes a dull report for the quarterly review.\n"
    block = line * ((1 << 20) // len(line) + 1)
    with path.open("wb") as handle:
        for _ in range(megabytes):
            handle.write(block[: 1 << 20])


# --- names and links -------------------------------------------------------------------------

HIDDEN_TRAVERSAL_NAMES: tuple[str, ...] = (
    "..%2f..%2fetc%2fpasswd.md",  # a dot file on POSIX: left out of folder walks
    "..\\..\\windows\\system32.md",  # Windows traversal (a plain name on POSIX)
)
HOSTILE_NAMES: tuple[str, ...] = (
    "%2e%2e%2f%2e%2e%2fetc%2fpasswd.md",  # URL-encoded traversal
    "c:\\..\\..\\windows\\win.ini.md",
    "a..b...md",
    "bell\x07ring.md",
    "tab\tstop.md",
    "carriage\rreturn.md",
    "new\nline.md",
    "escape \x1b[31mred\x1b[0m.md",
    "delete\x7f.md",
    "right-to-left \u202egnp.md",
    "zero\u200bwidth.md",
    "emoji 🗂️ notes.md",
    "quote\"and'apostrophe.md",
    "<img src=x onerror=alert(1)>.md",
    "semi;colon $(rm -rf) `x`.md",
    "é" * 120 + ".md",  # 243 bytes: near the 255-byte limit of a file name
)


def named(folder: Path, name: str | bytes, word: str) -> Path:
    """A small good Markdown file under an awkward name (bytes: a name that is not UTF-8)."""
    path = Path(os.fsdecode(os.path.join(os.fsencode(folder), os.fsencode(name))))
    path.write_text(f"# Note\n\nThe {word} appears in this note only.\n")
    return path


def symlink(link: Path, target: Path) -> Path:
    link.symlink_to(target)
    return link
