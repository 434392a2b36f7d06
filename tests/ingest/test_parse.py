"""Parsing real files with `unstructured` (fast strategy, offline), written into tmp_path."""

from __future__ import annotations

import hashlib
from pathlib import Path

import docx
import pytest
from fpdf import FPDF

from ingest.parse import ParseError, file_hash, parse_file


def test_markdown_headings_become_titles_with_depth(tmp_path: Path) -> None:
    path = tmp_path / "guide.md"
    path.write_text(
        "# Travel Guide\n\nIntro about travel.\n\n## Booking\n\nBook flights early.\n\n"
        "### Hotels\n\nHotels must be approved.\n\n## Expenses\n\nKeep all receipts.\n"
    )

    document = parse_file(path)

    assert document.title == "Travel Guide"
    assert document.source == str(path)
    titles = [(e.text, e.depth) for e in document.elements if e.is_heading]
    assert [t for t, _ in titles] == ["Travel Guide", "Booking", "Hotels", "Expenses"]
    depths = [d for _, d in titles if d is not None]
    assert len(depths) == 4
    guide, booking, hotels, expenses = depths
    assert guide < booking < hotels
    assert booking == expenses
    texts = [e.text for e in document.elements]
    assert "Book flights early." in texts and "Keep all receipts." in texts


def test_plain_text_file(tmp_path: Path) -> None:
    path = tmp_path / "meeting_notes.txt"
    path.write_text(
        "The quarterly review covered the budget for next year.\n\n"
        "The committee approved the budget after a long discussion about costs.\n"
    )

    document = parse_file(path)

    text = " ".join(e.text for e in document.elements)
    assert "quarterly review" in text and "committee approved" in text
    assert document.title == "Meeting notes"  # from the file name: no heading first
    assert all(e.text == e.text.strip() and e.text for e in document.elements)


def test_html_heading_and_paragraph(tmp_path: Path) -> None:
    path = tmp_path / "page.html"
    path.write_text(
        "<html><head><title>ignored</title></head><body><h1>Security Policy</h1>"
        "<p>All laptops must use full disk encryption at all times.</p></body></html>"
    )

    document = parse_file(path)

    assert document.title == "Security Policy"
    assert document.elements[0].is_heading
    assert any("full disk encryption" in e.text for e in document.elements[1:])


def test_docx_heading_and_paragraph(tmp_path: Path) -> None:
    path = tmp_path / "onboarding.docx"
    word = docx.Document()
    word.add_heading("Onboarding", level=1)
    word.add_paragraph("New employees receive a laptop on their first day.")
    word.save(str(path))

    document = parse_file(path)

    assert document.title == "Onboarding"
    assert document.elements[0].is_heading
    assert any("receive a laptop" in e.text for e in document.elements)


def test_pdf_elements_carry_page_numbers(tmp_path: Path) -> None:
    path = tmp_path / "fruit.pdf"
    pdf = FPDF()
    pdf.set_font("Helvetica", size=12)
    for body in (
        "The first page describes apples and their orchards in some detail.",
        "The second page describes bananas and their plantations in some detail.",
    ):
        pdf.add_page()
        pdf.set_y(80)  # clear of the top band, which unstructured files as a page header
        pdf.multi_cell(0, 10, body)
    pdf.output(str(path))

    document = parse_file(path)

    pages = {e.page for e in document.elements}
    assert pages == {1, 2}
    [apples] = [e for e in document.elements if "apples" in e.text]
    [bananas] = [e for e in document.elements if "bananas" in e.text]
    assert (apples.page, bananas.page) == (1, 2)


@pytest.mark.parametrize("name", ["notes.xyz", "Makefile"])
def test_unsupported_suffix_is_a_parse_error_naming_it(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_text("some text")

    with pytest.raises(ParseError) as error:
        parse_file(path)

    assert "unsupported" in str(error.value)
    if path.suffix:
        assert path.suffix in str(error.value)


@pytest.mark.parametrize("name", ["empty.txt", "empty.md", "empty.pdf", "empty.docx"])
def test_zero_byte_file_is_a_parse_error_saying_empty(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(b"")

    with pytest.raises(ParseError, match="empty file"):
        parse_file(path)


@pytest.mark.parametrize(
    "content",
    [bytes(range(256)) * 16, b"%PDF-1.4\n" + bytes(range(256)) * 4],
    ids=["garbage", "pdf-header-then-garbage"],
)
def test_garbage_pdf_is_a_parse_error(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "broken.pdf"
    path.write_bytes(content)

    with pytest.raises(ParseError) as error:
        parse_file(path)

    assert str(error.value)


@pytest.mark.parametrize("suffix", [".docx", ".pptx", ".xlsx"])
def test_garbage_office_file_is_a_parse_error(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"broken{suffix}"
    path.write_bytes(bytes(range(256)) * 16)

    with pytest.raises(ParseError) as error:
        parse_file(path)

    assert str(error.value)


def test_file_hash_is_sha256_of_the_bytes(tmp_path: Path) -> None:
    content = bytes(range(256)) * 10_000  # > 2 MiB: read in several blocks
    path = tmp_path / "blob.bin"
    path.write_bytes(content)

    assert file_hash(path) == hashlib.sha256(content).hexdigest()


def test_parsed_document_hash_is_sha256_of_the_file(tmp_path: Path) -> None:
    path = tmp_path / "note.md"
    path.write_text("# Note\n\nA short note.\n")

    document = parse_file(path)

    assert document.content_hash == hashlib.sha256(path.read_bytes()).hexdigest()
