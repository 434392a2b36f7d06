"""One small generated file per supported format: its text, pages and heading paths come out."""

from __future__ import annotations

import csv
from email.message import EmailMessage
from pathlib import Path

import docx
import openpyxl
import pptx
import pypandoc
import pytest
from fpdf import FPDF

from ingest.chunk import heading_paths
from ingest.parse import parse_file
from ingest.tables import table_text
from ingest.types import Element, ParsedDocument


def path_of(document: ParsedDocument, fragment: str) -> tuple[str, ...]:
    """The heading path above the one element containing `fragment`."""
    paths = heading_paths(document.elements)
    [found] = [p for e, p in zip(document.elements, paths, strict=True) if fragment in e.text]
    return found


def only(document: ParsedDocument, fragment: str) -> Element:
    [element] = [e for e in document.elements if fragment in e.text]
    return element


def test_pdf_pages_and_page_count(tmp_path: Path) -> None:
    path = tmp_path / "fruit.pdf"
    pdf = FPDF()
    pdf.set_font("Helvetica", size=12)
    for body in ("Apples grow in orchards.", "Bananas grow on plantations.", "Cherries are red."):
        pdf.add_page()
        pdf.set_y(80)
        pdf.multi_cell(0, 10, body)
    pdf.output(str(path))

    document = parse_file(path)

    assert [only(document, f).page for f in ("Apples", "Bananas", "Cherries")] == [1, 2, 3]
    assert document.pages == 3


def test_docx_heading_path_and_table_rows(tmp_path: Path) -> None:
    path = tmp_path / "handbook.docx"
    word = docx.Document()
    word.add_heading("Handbook", level=1)
    word.add_heading("Leave", level=2)
    word.add_paragraph("Employees get twenty days of leave.")
    grid = word.add_table(rows=3, cols=2)
    for r, row in enumerate([("Kind", "Days"), ("Annual", "20"), ("Sick", "10")]):
        for c, value in enumerate(row):
            grid.cell(r, c).text = value
    word.save(str(path))

    document = parse_file(path)

    assert path_of(document, "twenty days") == ("Handbook", "Leave")
    assert only(document, "Annual").text == "Kind | Days\nAnnual | 20\nSick | 10"
    assert only(document, "Annual").kind == "Table"
    assert document.pages is None


def test_pptx_slides_are_pages_and_titles_are_headings(tmp_path: Path) -> None:
    path = tmp_path / "results.pptx"
    deck = pptx.Presentation()
    for heading, body in [
        ("Quarterly Results", "Revenue grew by a third."),
        ("Next Steps", "Hire two engineers."),
    ]:
        slide = deck.slides.add_slide(deck.slide_layouts[1])
        slide.shapes.title.text = heading
        slide.placeholders[1].text = body
    deck.save(str(path))

    document = parse_file(path)

    assert document.title == "Quarterly Results"
    assert (only(document, "Revenue").page, only(document, "engineers").page) == (1, 2)
    assert path_of(document, "engineers") == ("Next Steps",)
    assert document.pages == 2


def test_xlsx_sheets_are_headings_over_their_table_rows(tmp_path: Path) -> None:
    path = tmp_path / "budget.xlsx"
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Equipment"
    for row in [("Item", "Cost"), ("Laptop", 1200), ("Desk", 300)]:
        sheet.append(row)
    staff = book.create_sheet("Staff")
    for row in [("Name", "Role"), ("Ada", "Engineer")]:
        staff.append(row)
    book.save(str(path))

    document = parse_file(path)

    assert only(document, "Laptop").text == "Item | Cost\nLaptop | 1200\nDesk | 300"
    assert path_of(document, "Laptop") == ("Equipment",)
    assert path_of(document, "Ada") == ("Staff",)
    assert document.title == "Equipment"
    assert document.pages is None and all(e.page is None for e in document.elements)


@pytest.mark.parametrize(("suffix", "delimiter"), [(".csv", ","), (".tsv", "\t")])
def test_delimited_text_is_one_table_with_a_line_per_row(
    tmp_path: Path, suffix: str, delimiter: str
) -> None:
    path = tmp_path / f"cities{suffix}"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle, delimiter=delimiter)
        writer.writerows([("city", "population"), ("Paris", "2100000"), ("Lyon", "520000")])

    document = parse_file(path)

    [element] = document.elements
    assert element.kind == "Table"
    assert element.text == "city | population\nParis | 2100000\nLyon | 520000"
    assert document.title == "Cities"


def test_html_headings_and_table_with_header_row_first(tmp_path: Path) -> None:
    path = tmp_path / "prices.html"
    path.write_text(
        "<html><body><h1>Catalogue</h1><h2>Drinks</h2><p>Prices include tax in all shops.</p>"
        "<table><tbody><tr><td>Tea</td><td>3</td></tr></tbody>"
        "<thead><tr><th>Item</th><th>Price</th></tr></thead></table></body></html>"
    )

    document = parse_file(path)

    assert path_of(document, "include tax") == ("Catalogue", "Drinks")
    assert only(document, "Tea").text == "Item | Price\nTea | 3"


def test_markdown_heading_path_and_table(tmp_path: Path) -> None:
    path = tmp_path / "guide.md"
    path.write_text(
        "# Guide\n\n## Limits\n\nThe limits below apply to every trip.\n\n"
        "| Item | Limit |\n|---|---|\n| Hotel | 150 |\n| Meals | 60 |\n"
    )

    document = parse_file(path)

    assert path_of(document, "every trip") == ("Guide", "Limits")
    assert only(document, "Hotel").text == "Item | Limit\nHotel | 150\nMeals | 60"
    assert path_of(document, "Hotel") == ("Guide", "Limits")


def test_plain_text_has_no_pages(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("The committee approved the budget after a long discussion.\n")

    document = parse_file(path)

    assert "committee approved" in only(document, "committee").text
    assert document.pages is None


def test_email_subject_heads_the_body(tmp_path: Path) -> None:
    message = EmailMessage()
    message["Subject"] = "Server maintenance"
    message["From"] = "ops@example.com"
    message["To"] = "all@example.com"
    message.set_content("The mail server is down on Saturday.\n\nPlease plan accordingly.")
    path = tmp_path / "notice.eml"
    path.write_bytes(bytes(message))

    document = parse_file(path)

    assert document.title == "Server maintenance"
    assert path_of(document, "down on Saturday") == ("Server maintenance",)
    assert "Please plan accordingly." in [e.text for e in document.elements]


def test_epub_chapters_are_headings(tmp_path: Path) -> None:
    path = tmp_path / "novel.epub"
    pypandoc.convert_text(
        "# Chapter One\n\nIt was a dark night in the city.\n\n## The Visit\n\n"
        "The detective arrived at dawn.\n",
        "epub",
        format="md",
        outputfile=str(path),
        extra_args=["--metadata", "title=Novel"],
    )

    document = parse_file(path)

    assert path_of(document, "dark night") == ("Chapter One",)
    assert path_of(document, "detective arrived") == ("Chapter One", "The Visit")


def test_table_text_collapses_cell_whitespace_and_skips_blank_rows() -> None:
    html = (
        "<table><tr><th>Name</th><th>Note</th></tr><tr><td> </td><td></td></tr>"
        "<tr><td>Ada\n  Lovelace</td><td>first\tprogrammer</td></tr></table>"
    )

    assert table_text(html) == "Name | Note\nAda Lovelace | first programmer"
    assert table_text("") == ""
