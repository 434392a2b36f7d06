"""Reading pictures with a fake engine: what becomes of the lines (order, paragraphs, regions,
confidence), which pages are read (mixed PDFs, force, off), pictures in Word and PowerPoint
files, and what a document's status says when a page gives nothing."""

from __future__ import annotations

import random
from pathlib import Path

import pptx
import pytest
from PIL import Image

from ingest.errors import ParseError, Refused
from ingest.ocr import OcrLine, OcrOptions, reading_order, unturned
from ingest.parse import parse_file
from ingest.regions import document_regions
from tests.fakes import FakeOcr, ocr_lines
from tests.ingest.scans import FIRE, LEAVE, docx_with_scan, mixed_pdf, save_pdf, save_tiff


def blank(width: int = 240, height: int = 120) -> Image.Image:
    return Image.new("L", (width, height), 255)


def options(fake: FakeOcr, mode: str = "auto") -> OcrOptions:
    return OcrOptions(mode=mode, engine=fake)  # type: ignore[arg-type]


def test_lines_come_in_reading_order_whatever_order_the_engine_gives() -> None:
    lines = ocr_lines("first line", "second line", "third line")
    right = OcrLine("beside", (0.85, lines[0].box[1], 0.95, lines[0].box[3]), 0.9)
    shuffled = [*lines, right]
    random.Random(3).shuffle(shuffled)
    assert [line.text for line in reading_order(shuffled)] == [
        "first line",
        "beside",
        "second line",
        "third line",
    ]


def test_a_picture_becomes_paragraphs_whose_regions_point_at_each_line(tmp_path: Path) -> None:
    fake = FakeOcr([ocr_lines(*LEAVE, "", *FIRE)])
    path = tmp_path / "notice.png"
    blank(300, 200).save(path)

    document = parse_file(path, options(fake))

    assert fake.seen == [(300, 200)]
    assert [e.text for e in document.elements] == [" ".join(LEAVE), " ".join(FIRE)]
    assert document.pages == 1 and document.notes == ()
    first = document.elements[0]
    assert [first.text[r.start : r.end] for r in first.regions] == list(LEAVE)
    assert all(r.page == 1 for r in first.regions)
    regions = document_regions(document.elements)
    text = "\n\n".join(e.text for e in document.elements)
    assert [text[r.start : r.end] for r in regions] == [*LEAVE, *FIRE]


def test_a_word_hyphenated_at_a_line_end_is_joined(tmp_path: Path) -> None:
    fake = FakeOcr([ocr_lines("Requests go to your man-", "ager two weeks ahead.")])
    path = tmp_path / "hyphen.png"
    blank().save(path)
    element = parse_file(path, options(fake)).elements[0]
    assert element.text == "Requests go to your manager two weeks ahead."
    assert element.text[element.regions[0].start : element.regions[0].end] == (
        "Requests go to your man"
    )


def test_unsure_lines_are_left_out_and_counted(tmp_path: Path) -> None:
    fake = FakeOcr([[*ocr_lines(*LEAVE), *ocr_lines("xq#v", top=0.6, confidence=0.2)]])
    path = tmp_path / "smudged.png"
    blank().save(path)
    document = parse_file(path, options(fake))
    assert "xq#v" not in " ".join(e.text for e in document.elements)
    assert document.notes == ("1 lines read with low confidence were left out",)


def test_a_picture_with_no_text_fails_and_says_so(tmp_path: Path) -> None:
    path = tmp_path / "empty.png"
    blank().save(path)
    with pytest.raises(ParseError, match="OCR found no text in this picture"):
        parse_file(path, options(FakeOcr()))
    unsure = FakeOcr([ocr_lines("blur", confidence=0.1)])
    with pytest.raises(ParseError, match="only with low confidence"):
        parse_file(path, options(unsure))


def test_tiff_pages_are_read_one_by_one_and_an_empty_page_is_noted(tmp_path: Path) -> None:
    fake = FakeOcr([ocr_lines(*LEAVE), [], ocr_lines(*FIRE)])
    path = save_tiff([blank(), blank(200, 100), blank(100, 80)], tmp_path / "fax.tiff")
    document = parse_file(path, options(fake))
    assert fake.seen == [(240, 120), (200, 100), (100, 80)]
    assert [e.page for e in document.elements] == [1, 3]
    assert document.pages == 3
    assert document.notes == ("OCR found no text on page 2",)


def test_with_ocr_off_a_picture_is_skipped_and_a_scan_says_why(tmp_path: Path) -> None:
    fake = FakeOcr([ocr_lines(*LEAVE)])
    picture = tmp_path / "notice.png"
    blank().save(picture)
    with pytest.raises(Refused, match="DOCENT_OCR=off"):
        parse_file(picture, options(fake, "off"))
    scan = save_pdf([blank()], tmp_path / "scan.pdf")
    with pytest.raises(ParseError, match="DOCENT_OCR=off"):
        parse_file(scan, options(fake, "off"))
    assert fake.seen == []


def test_a_mixed_pdf_keeps_its_text_layer_and_reads_only_the_scanned_page(
    tmp_path: Path,
) -> None:
    fake = FakeOcr([ocr_lines(*FIRE)])
    path = mixed_pdf(tmp_path / "mixed.pdf", ["Travel policy", "Book trains."], blank(400, 200))

    document = parse_file(path, options(fake))

    assert len(fake.seen) == 1  # page 2 only
    by_page = {e.page: e.text for e in document.elements}
    assert "Book trains." in by_page[1] and by_page[2] == " ".join(FIRE)
    text_layer = next(e for e in document.elements if e.text == "Book trains.")
    (region,) = text_layer.regions  # placed from the text layer's character boxes
    left, top, right, bottom = region.box
    assert region.page == 1 and 0 < left < right < 0.5 and 0 < top < bottom < 0.2


def test_force_reads_every_page_and_ignores_the_text_layer(tmp_path: Path) -> None:
    fake = FakeOcr([ocr_lines("page one as read"), ocr_lines("page two as read")])
    path = mixed_pdf(tmp_path / "mixed.pdf", ["Travel policy", "Book trains."], blank(400, 200))
    document = parse_file(path, options(fake, "force"))
    assert len(fake.seen) == 2
    assert [e.text for e in document.elements] == ["page one as read", "page two as read"]


def test_a_pdf_page_renders_at_the_chosen_resolution(tmp_path: Path) -> None:
    fake = FakeOcr([ocr_lines("read")])
    path = save_pdf([blank(400, 200)], tmp_path / "scan.pdf", dpi=200)  # 2 x 1 inch
    parse_file(path, OcrOptions(dpi=150, engine=fake))
    assert fake.seen == [(300, 150)]


def test_a_word_files_picture_is_read_after_its_text(tmp_path: Path) -> None:
    fake = FakeOcr([ocr_lines(*LEAVE)])
    path = docx_with_scan(tmp_path / "signed.docx", "Signed policy", blank(300, 150))
    document = parse_file(path, options(fake))
    assert len(fake.seen) == 1
    assert [e.text for e in document.elements] == [
        "Signed policy",
        "The signed copy is below.",
        " ".join(LEAVE),
    ]
    assert document.elements[-1].regions == ()  # no page picture to outline it on


def test_a_slides_picture_is_read_onto_that_slide(tmp_path: Path) -> None:
    fake = FakeOcr([ocr_lines(*FIRE)])
    picture = tmp_path / "scan.png"
    blank(300, 150).save(picture)
    deck = pptx.Presentation()
    for title in ("Safety", "Leave"):
        slide = deck.slides.add_slide(deck.slide_layouts[5])
        slide.shapes.title.text = title
    deck.slides[0].shapes.add_picture(str(picture), 0, 0)
    deck.save(str(tmp_path / "deck.pptx"))

    document = parse_file(tmp_path / "deck.pptx", options(fake))

    assert [(e.page, e.text) for e in document.elements] == [
        (1, "Safety"),
        (1, " ".join(FIRE)),
        (2, "Leave"),
    ]


@pytest.mark.parametrize(
    "turn, transpose",
    [
        (90, Image.Transpose.ROTATE_90),
        (180, Image.Transpose.ROTATE_180),
        (270, Image.Transpose.ROTATE_270),
    ],
)
def test_a_box_found_on_a_turned_page_is_put_back_on_the_page_as_scanned(
    turn: int, transpose: Image.Transpose
) -> None:
    page = Image.new("L", (400, 200), 0)
    page.paste(255, (40, 20, 120, 60))  # a bright block somewhere off centre
    turned = page.transpose(transpose)
    left, top, right, bottom = turned.getbbox() or (0, 0, 0, 0)
    width, height = turned.size
    box = unturned((left / width, top / height, right / width, bottom / height), turn)
    assert box == pytest.approx((40 / 400, 20 / 200, 120 / 400, 60 / 200))


def test_an_icon_is_skipped_without_reading_it(tmp_path: Path) -> None:
    fake = FakeOcr([ocr_lines("+")])
    icon = tmp_path / "plus.png"
    blank(11, 11).save(icon)
    with pytest.raises(Refused, match="11×11 picture is an icon"):
        parse_file(icon, options(fake))
    assert fake.seen == []
    banner = tmp_path / "banner.png"
    blank(120, 24).save(banner)  # a line of text fits
    assert [e.text for e in parse_file(banner, options(fake)).elements] == ["+"]
