"""Hostile and broken files for ingestion tests, generated on the spot (nothing checked in).

Each writer makes one file and returns a `Case`: where it is, what it is, and which statuses
(and reason fragment) the pipeline may honestly give it. Random content comes from seeded
generators, so a failure reproduces.
"""

from __future__ import annotations

import os
import random
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

import docx
import openpyxl
import pptx
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


def ole_container(folder: Path, suffix: str, seed: int) -> Case:
    """What Office saves when a password is set: an OLE2 container, not a zip (here: random)."""
    path = folder / f"locked{suffix}"
    ole = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
    path.write_bytes(ole + random.Random(seed).randbytes(4096))
    return Case(path, f"password-protected {suffix} (OLE2 container)", FAILED, "password")


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
