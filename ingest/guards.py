"""Cheap checks before a parser touches a file: size, zip bombs, binary text, encryption.

They run in the parser's process, before `unstructured`, so a hostile file costs little and
gets a reason a person can act on.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from ingest.parse import ParseError

TEXT_SUFFIXES = frozenset({".txt", ".text", ".md", ".markdown", ".csv", ".html", ".htm", ".eml"})
ZIP_SUFFIXES = frozenset({".docx", ".pptx", ".xlsx", ".epub"})
MAX_UNPACKED_BYTES = 512 << 20  # an office file that unpacks past this is not a document
MAX_PACK_RATIO = 200  # typical OOXML compresses 3-20x; bombs compress thousands of times
MAX_MEMBERS = 20_000
_SNIFF_BYTES = 8192


class Refused(ParseError):
    """A file docent will not parse by policy (too large); reported as skipped."""


def check_file(path: Path, max_bytes: int) -> None:
    """Raise ParseError (or Refused) when the file should not reach the parser."""
    size = path.stat().st_size
    if size > max_bytes:
        raise Refused(f"file is {_mb(size)}, over the {_mb(max_bytes)} limit")
    suffix = path.suffix.lower()
    if suffix in TEXT_SUFFIXES:
        _check_text(path)
    elif suffix in ZIP_SUFFIXES:
        _check_archive(path, suffix)
    elif suffix == ".pdf":
        _check_pdf(path)


def _check_text(path: Path) -> None:
    with path.open("rb") as handle:
        head = handle.read(_SNIFF_BYTES)
    if b"\0" in head:
        raise ParseError(f"binary content in a {path.suffix} file (not text)")


def _check_archive(path: Path, suffix: str) -> None:
    if not zipfile.is_zipfile(path):
        raise ParseError(f"not a valid {suffix} file (it is not a zip archive)")
    with zipfile.ZipFile(path) as archive:
        members = archive.infolist()
    unpacked = sum(m.file_size for m in members)
    packed = max(1, sum(m.compress_size for m in members))
    if len(members) > MAX_MEMBERS or unpacked > MAX_UNPACKED_BYTES:
        raise ParseError(f"refusing a {suffix} that unpacks to {_mb(unpacked)} (zip bomb?)")
    if unpacked > 10 << 20 and unpacked / packed > MAX_PACK_RATIO:
        ratio = unpacked // packed
        raise ParseError(f"refusing a {suffix} compressed {ratio}:1 (zip bomb?)")


def _check_pdf(path: Path) -> None:
    with path.open("rb") as handle:
        head = handle.read(1024)
    if b"%PDF-" not in head:
        raise ParseError("not a PDF file (no PDF header)")
    from pypdf import PdfReader

    try:
        encrypted = PdfReader(path).is_encrypted
    except Exception as exc:  # a damaged file: let the parser try, and say what it finds
        del exc
        return
    if encrypted:
        raise ParseError("encrypted (password-protected) PDF: remove the password to ingest it")


def _mb(size: int) -> str:
    return f"{size / (1 << 20):.1f} MB"
