from __future__ import annotations

from pathlib import Path

from ingest.parse import parse_file
from ingest.text_headings import underlined_headings


def test_titles_are_set_apart_and_levelled_by_the_order_their_style_appears() -> None:
    text = (
        "=========\nFrob tool\n=========\n\nIntro line.\n\n"
        "Installing\n----------\nRun the installer.\n\n"
        "On Debian\n~~~~~~~~~\nUse apt.\n\n"
        "Using\n-----\nRun frob.\n"
    )
    marked = underlined_headings(text)
    assert marked is not None
    assert marked.depths == {"Frob tool": 0, "Installing": 1, "On Debian": 2, "Using": 1}
    assert "-----" not in marked.text and "~~~" not in marked.text
    assert "\n\nInstalling\n\nRun the installer." in marked.text


def test_a_listing_delimiter_after_code_and_lines_without_words_are_not_titles() -> None:
    text = (
        "Example\n-------\n\nAdd the docs:\n+\n------------\n$ frob add docs/\n------------\n\n"
        "A short line\n----------------------------------\n"
    )
    marked = underlined_headings(text)
    assert marked is not None
    assert marked.depths == {"Example": 0, "A short line": 0}
    assert "$ frob add docs/\n------------" in marked.text


def test_an_underline_much_shorter_than_its_line_is_not_one() -> None:
    assert underlined_headings("Some longer line of prose here\n---\n") is None
    assert underlined_headings("No headings at all.\n\nJust prose.\n") is None


def test_an_underlined_text_file_has_sections(tmp_path: Path) -> None:
    path = tmp_path / "frob-add.txt"
    path.write_text(
        "frob-add(1)\n===========\n\nNAME\n----\nfrob-add - Add files to the index\n\n"
        "OPTIONS\n-------\n--dry-run::\n\tDo not actually add the files.\n",
        encoding="utf-8",
    )
    document = parse_file(path)
    titles = [(e.text, e.depth) for e in document.elements if e.kind == "Title"]
    assert titles == [("frob-add(1)", 0), ("NAME", 1), ("OPTIONS", 1)]
    assert not any(set(e.text) <= {"-", "="} for e in document.elements)
