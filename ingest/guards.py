"""Cheap checks before a parser touches a file: size, zip bombs, binary text, encryption.

They run in the parser's process, before `unstructured`, so a hostile file costs little and
gets a reason a person can act on.
"""

from __future__ import annotations

import zipfile
import zlib
from pathlib import Path
from typing import Any, BinaryIO

from ingest.errors import ParseError, Refused
from ingest.images import IMAGE_SUFFIXES, check_picture
from ingest.ocr import OCR_OFF, OcrOptions

TEXT_SUFFIXES = frozenset(
    {".txt", ".text", ".md", ".markdown", ".csv", ".tsv", ".html", ".htm", ".eml"}
)
ZIP_SUFFIXES = frozenset({".docx", ".pptx", ".xlsx", ".epub"})
MAX_UNPACKED_BYTES = 512 << 20  # an office file that unpacks past this is not a document
MAX_PACK_RATIO = 200  # typical OOXML compresses 3-20x; bombs compress thousands of times
MAX_MEMBERS = 20_000
# unstructured classifies text paragraph by paragraph with spaCy: about 20-50 s of one core per
# MB of prose, so a 100 MB text file would hold a parser for hours.
MAX_TEXT_BYTES = 20 << 20
PDF_BOMB_BYTES = 4 << 20  # page content this large and packed past MAX_PACK_RATIO is a bomb
_SNIFF_BYTES = 8192
_INFLATE_STEP = 1 << 20
_ZIP_LOCAL_HEADER = 30
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # OLE2: legacy and encrypted Office files


def check_file(path: Path, max_bytes: int, ocr: OcrOptions = OCR_OFF) -> None:
    """Raise ParseError (or Refused) when the file should not reach the parser."""
    size = path.stat().st_size
    if size > max_bytes:
        raise Refused(f"file is {_mb(size)}, over the {_mb(max_bytes)} limit")
    if size == 0:
        raise ParseError("empty file (0 bytes)")
    suffix = path.suffix.lower()
    if suffix in TEXT_SUFFIXES:
        if size > MAX_TEXT_BYTES:
            raise Refused(
                f"a {suffix} file of {_mb(size)} is over the {_mb(MAX_TEXT_BYTES)} limit for text"
                " (parsing takes about half a minute per MB): split it into smaller files"
            )
        _check_text(path)
    elif suffix in ZIP_SUFFIXES:
        _check_archive(path, suffix)
    elif suffix == ".pdf":
        _check_pdf(path)
    elif suffix in IMAGE_SUFFIXES and ocr.enabled:
        check_picture(path, ocr.max_pixels, ocr.max_frames)


def _check_text(path: Path) -> None:
    with path.open("rb") as handle:
        head = handle.read(_SNIFF_BYTES)
    if b"\0" in head:
        raise ParseError(f"binary content in a {path.suffix} file (not text)")


def _check_archive(path: Path, suffix: str) -> None:
    if not zipfile.is_zipfile(path):
        raise ParseError(_not_zip(path, suffix))
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, ValueError) as exc:
        raise ParseError(f"damaged {suffix} file: {exc}") from exc
    if len(members) > MAX_MEMBERS:
        raise ParseError(f"refusing a {suffix} of {len(members):,} parts (zip bomb?)")
    unpacked = sum(m.file_size for m in members)
    packed = max(1, sum(m.compress_size for m in members))
    if unpacked > MAX_UNPACKED_BYTES:
        raise ParseError(f"refusing a {suffix} that unpacks to {_mb(unpacked)} (zip bomb?)")
    if unpacked > 10 << 20 and unpacked / packed > MAX_PACK_RATIO:
        ratio = unpacked // packed
        raise ParseError(f"refusing a {suffix} compressed {ratio}:1 (zip bomb?)")
    with path.open("rb") as handle:
        for member in members:
            _check_member(handle, member, suffix)


def _not_zip(path: Path, suffix: str) -> str:
    with path.open("rb") as handle:
        ole = handle.read(len(_OLE_MAGIC)) == _OLE_MAGIC
    if ole and suffix != ".epub":  # Office encrypts a .docx into an OLE container
        return (
            f"a password-protected {suffix} file (or an old binary Office file renamed):"
            f" remove the password, or save it again as {suffix}"
        )
    return f"not a valid {suffix} file (it is not a zip archive)"


def _check_member(handle: BinaryIO, member: zipfile.ZipInfo, suffix: str) -> None:
    """Inflate a part to count its bytes: the sizes in zip headers are the packer's word only,
    and readers such as zipfile inflate a whole part at once before comparing."""
    if member.compress_type == zipfile.ZIP_STORED:
        return  # stored bytes are what they are: the size check above holds
    if member.compress_type != zipfile.ZIP_DEFLATED:
        raise ParseError(
            f"refusing a {suffix} with a part packed by zip method {member.compress_type}"
            " (office files use deflate)"
        )
    handle.seek(member.header_offset)
    local = handle.read(_ZIP_LOCAL_HEADER)
    if len(local) < _ZIP_LOCAL_HEADER or local[:4] != b"PK\x03\x04":
        raise ParseError(f"damaged {suffix} file: a part's header is missing")
    name_length = int.from_bytes(local[26:28], "little")
    extra_length = int.from_bytes(local[28:30], "little")
    handle.seek(name_length + extra_length, 1)
    if _inflated_size(handle, member.compress_size, member.file_size) > member.file_size:
        raise ParseError(
            f"refusing a {suffix} whose part {member.filename!r} inflates past the size its"
            " zip header declares (zip bomb?)"
        )


def _inflated_size(handle: BinaryIO, packed: int, declared: int) -> int:
    """Bytes that `packed` bytes of raw deflate inflate to, counted up to `declared` + 1."""
    inflater = zlib.decompressobj(-15)
    total = 0
    try:
        while packed > 0 and total <= declared and not inflater.eof:
            data = handle.read(min(_INFLATE_STEP, packed))
            if not data:
                break
            packed -= len(data)
            while data and total <= declared:
                total += len(inflater.decompress(data, _INFLATE_STEP))
                data = inflater.unconsumed_tail
    except zlib.error:
        return total  # a damaged stream: the parser reports it
    return total


def _check_pdf(path: Path) -> None:
    with path.open("rb") as handle:
        head = handle.read(1024)
    if b"%PDF-" not in head:
        raise ParseError("not a PDF file (no PDF header)")
    from pypdf import PdfReader

    try:
        reader = PdfReader(path)
        locked = reader.is_encrypted and not reader.decrypt("")
    except Exception as exc:  # a damaged file: let the parser try, and say what it finds
        del exc
        return
    if locked:  # an empty user password (owner restrictions only) opens for anyone
        raise ParseError("encrypted (password-protected) PDF: remove the password to ingest it")
    _check_pdf_content(reader, path.stat().st_size)


def _check_pdf_content(reader: Any, file_size: int) -> None:
    """The text parser reads page content in Python (seconds per MB): refuse content that
    unpacks like a bomb, or more of it than a document holds."""
    from pypdf.errors import LimitReachedError

    total = 0
    try:
        for number, page in enumerate(reader.pages, 1):
            for stream in _content_streams(page):
                size = len(stream.get_data())
                total += size
                if size > PDF_BOMB_BYTES and size > MAX_PACK_RATIO * file_size:
                    raise ParseError(
                        f"refusing a PDF of {_kb(file_size)} whose page {number} content"
                        f" unpacks to {_mb(size)} (PDF bomb?)"
                    )
    except LimitReachedError as exc:
        raise ParseError(f"refusing a PDF with content past pypdf's limits: {exc}") from exc
    except ParseError:
        raise
    except Exception as exc:  # damaged: the parser says what it finds
        del exc
        return
    if total > MAX_UNPACKED_BYTES:
        raise ParseError(f"refusing a PDF whose page content unpacks to {_mb(total)}")


def _content_streams(page: Any) -> list[Any]:
    """A page's content streams and the form XObjects it draws (content too)."""
    contents = page.get("/Contents")
    found = [] if contents is None else contents.get_object()
    streams = [s.get_object() for s in found] if isinstance(found, list) else [found]
    resources = page.get("/Resources")
    xobjects = resources.get_object().get("/XObject") if resources is not None else None
    for ref in xobjects.get_object().values() if xobjects is not None else []:
        xobject = ref.get_object()
        if xobject.get("/Subtype") == "/Form":
            streams.append(xobject)
    return streams


def _kb(size: int) -> str:
    return f"{size / 1024:.0f} KB"


def _mb(size: int) -> str:
    return f"{size / (1 << 20):.1f} MB"
