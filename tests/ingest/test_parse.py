"""Parsing real files with `unstructured` (fast strategy, offline), written into tmp_path."""

from __future__ import annotations

import hashlib
import pickle
import sys
from pathlib import Path

import docx
import pytest
from fpdf import FPDF

from ingest.chunk import heading_paths
from ingest.parse import (
    ParseError,
    UnsupportedFormat,
    _pdf_heading_checked,
    _Piece,
    _to_elements,
    file_hash,
    parse_file,
)
from ingest.types import Element


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
    faq = tmp_path / "fetchmail-FAQ.txt"
    faq.write_text("The answers come after the questions.\n")
    assert parse_file(faq).title == "Fetchmail FAQ"  # an acronym keeps its capitals
    assert all(e.text == e.text.strip() and e.text for e in document.elements)


def _html_file(path: Path, page: str) -> Path:
    path.write_text(page, encoding="utf-8")
    return path


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


def test_html_permalink_marks_and_hidden_elements_are_not_read(tmp_path: Path) -> None:
    page = _html_file(
        tmp_path / "manual.html",
        "<html><body>"
        '<h1>The tutorial<a class="headerlink" href="#t" title="Link to this heading">¶</a></h1>'
        '<p>Run <code>make</code> first, then read the <a href="#install">install notes</a>.</p>'
        '<h2>1 Synopsis<span><a href="#Synopsis" aria-hidden="true">#</a> '
        '<a href="#toc-Synopsis" aria-hidden="true">TOC</a></span></h2>'
        "<p>The synopsis, with words enough to be a paragraph.</p>"
        '<h2>Options<a href="#options">§</a></h2><p hidden>Not shown.</p>'
        "<p>Every option, one by one.</p></body></html>",
    )
    elements = parse_file(page).elements
    titles = [e.text for e in elements if e.kind == "Title"]
    assert titles == ["The tutorial", "1 Synopsis", "Options"]
    text = " ".join(e.text for e in elements)
    assert "install notes" in text  # an in-page link that is words stays
    assert "Not shown" not in text


def test_a_sphinx_page_is_read_from_its_main_content(tmp_path: Path) -> None:
    page = _html_file(
        tmp_path / "install.html",
        "<html><head><title>Installing — Frobnicator 2.1 documentation</title></head><body>"
        '<div class="related" role="navigation"><h3>Navigation</h3>'
        '<ul><li><a href="genindex.html">index</a></li><li>Frobnicator 2.1 »</li></ul></div>'
        '<div class="document"><div class="body" role="main">'
        "<h1>Installing</h1><p>Unpack the archive and run the installer as root.</p>"
        "<h2>Upgrading</h2><p>Stop the service before upgrading it.</p></div></div>"
        '<div class="sphinxsidebar" role="navigation"><h3>Table of Contents</h3>'
        '<ul><li><a href="#">Installing</a></li></ul><div role="search"><h3>Quick search</h3>'
        "</div></div>"
        '<div class="footer" role="contentinfo">© Copyright 2024. Created using Sphinx.</div>'
        "</body></html>",
    )
    document = parse_file(page)
    assert document.title == "Installing"
    assert [e.text for e in document.elements if e.kind == "Title"] == ["Installing", "Upgrading"]
    text = " ".join(e.text for e in document.elements)
    for furniture in ("Navigation", "index", "Table of Contents", "Quick search", "Copyright"):
        assert furniture not in text


def test_navigation_bars_are_not_read_where_no_main_content_is_marked(tmp_path: Path) -> None:
    page = _html_file(
        tmp_path / "ch2.html",
        '<html><body><div class="navheader"><table><tr><td><a href="ch1.html">Prev</a></td>'
        '<td><a href="ch3.html">Next</a></td></tr></table></div>'
        '<div class="chapter"><h2>Chapter 2. apt-get</h2>'
        "<p>apt-get installs packages from the command line.</p></div>"
        '<nav><a href="index.html">Home</a></nav>'
        '<div class="navfooter"><table><tr><td>Chapter 1. General</td><td>Home</td>'
        "</tr></table></div></body></html>",
    )
    document = parse_file(page)
    assert document.title == "Chapter 2. apt-get"
    assert [e.text for e in document.elements] == [
        "Chapter 2. apt-get",
        "apt-get installs packages from the command line.",
    ]


def test_a_pages_own_table_of_contents_is_not_read(tmp_path: Path) -> None:
    page = _html_file(
        tmp_path / "faq.html",
        "<html><body><h1>Frobnicator FAQ</h1>"
        '<div class="toc-box"><h2>Table of Contents</h2><ul>'
        '<li><a href="#install">1 Installing</a><ul><li><a href="#root">1.1 As root</a></li>'
        '</ul></li><li><a href="#use">2 Using</a></li></ul></div>'
        '<h2>More questions</h2><a href="#q1">Q1. Why?</a><br/><a href="#q2">Q2. How?</a><br/>'
        '<a href="#q3">Q3. When?</a><br/>'
        '<h3><a href="#use">2 Using</a></h3>'
        '<h2 id="install">1 Installing</h2><p>Run the <a href="#root">installer</a> as root.</p>'
        '<h3 id="root"><a href="#root">1.1 As root</a></h3><p>Use sudo.</p>'
        '<h2 id="use">2 Using</h2><p id="q1">Q1. Why? Because.</p></body></html>',
    )
    elements = parse_file(page).elements
    assert [e.text for e in elements] == [
        "Frobnicator FAQ",
        "More questions",
        "1 Installing",
        "Run the installer as root.",
        "1.1 As root",  # a heading that links to itself is a permalink, not a contents entry
        "Use sudo.",
        "2 Using",
        "Q1. Why? Because.",
    ]


def test_a_menu_bar_above_the_text_is_not_read_and_the_page_title_names_the_page(
    tmp_path: Path,
) -> None:
    page = _html_file(
        tmp_path / "lang_createtable.html",
        "<html><head><title>CREATE TABLE</title></head><body>"
        '<div class="nosearch"><a href="index.html"><img alt="Frob"></a><div class="menu">'
        '<a href="index.html">Home</a> <a href="about.html">About</a> '
        '<a href="docs.html">Documentation</a> <a href="download.html">Download</a></div></div>'
        "<p>The CREATE TABLE command makes a new table. See <a href='x.html'>x</a>.</p>"
        "<h2>Syntax</h2><p>CREATE TABLE name (columns).</p></body></html>",
    )
    document = parse_file(page)
    assert document.title == "CREATE TABLE"
    assert [e.text for e in document.elements] == [
        "The CREATE TABLE command makes a new table. See x.",
        "Syntax",
        "CREATE TABLE name (columns).",
    ]


def test_next_and_previous_lines_and_a_site_banner_are_not_the_pages_text(
    tmp_path: Path,
) -> None:
    page = _html_file(
        tmp_path / "Vectors.html",
        '<html><body><h1><a href="index.html">Frob documentation</a></h1>'
        '<div class="header"><p>Next: <a href="Lists.html" rel="next">Lists</a>, '
        'Up: <a href="index.html" rel="up">Top</a></p></div>'
        "<h2>2.1 Vectors</h2><p>A vector holds values of one type.</p>"
        '<p>See <a href="Lists.html" rel="next">lists</a> and <a href="index.html" rel="up">'
        "the top</a> for the other kinds of objects you can build.</p></body></html>",
    )
    document = parse_file(page)
    assert [(e.kind == "Title", e.text) for e in document.elements] == [
        (False, "Frob documentation"),
        (True, "2.1 Vectors"),
        (False, "A vector holds values of one type."),
        (False, "See lists and the top for the other kinds of objects you can build."),
    ]


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


@pytest.mark.parametrize(("name", "suffix"), [("notes.XYZ", ".XYZ"), ("Makefile", "")])
def test_unsupported_suffix_is_its_own_error_and_survives_a_process_boundary(
    tmp_path: Path, name: str, suffix: str
) -> None:
    path = tmp_path / name
    path.write_text("some text")

    with pytest.raises(UnsupportedFormat) as error:
        parse_file(path)

    assert error.value.suffix == suffix
    assert str(error.value) == f"unsupported type {suffix or '(no file extension)'}"
    copy = pickle.loads(pickle.dumps(error.value))  # parse workers send errors back pickled
    assert isinstance(copy, UnsupportedFormat)
    assert (copy.suffix, str(copy)) == (error.value.suffix, str(error.value))


def test_broken_file_of_a_supported_type_is_not_unsupported(tmp_path: Path) -> None:
    path = tmp_path / "broken.docx"
    path.write_bytes(bytes(range(256)) * 16)

    with pytest.raises(ParseError) as error:
        parse_file(path)

    assert not isinstance(error.value, UnsupportedFormat)
    assert str(error.value).startswith("cannot read this .docx file")


def test_pdf_without_text_says_it_may_be_a_scan(tmp_path: Path) -> None:
    path = tmp_path / "scan.pdf"
    pdf = FPDF()
    pdf.add_page()
    pdf.output(str(path))

    with pytest.raises(ParseError, match="no text layer"):
        parse_file(path)


def test_whitespace_only_text_is_reported_as_no_text(tmp_path: Path) -> None:
    path = tmp_path / "blank.txt"
    path.write_text("   \n\n\t\n")

    with pytest.raises(ParseError, match="no text found"):
        parse_file(path)


def test_epub_without_pandoc_says_what_is_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "book.epub"
    path.write_bytes(b"PK\x03\x04 not really an epub")
    monkeypatch.setitem(sys.modules, "pypandoc", None)  # import fails as if not installed

    with pytest.raises(ParseError, match="EPUB needs pandoc, which is not installed"):
        parse_file(path)


def _pdf_with_furniture(path: Path, pages: int, first_page_banner: str) -> None:
    """Each page: a header line in the top band, a body lower down, a numbered footer."""
    pdf = FPDF()
    pdf.set_auto_page_break(False)
    pdf.set_font("Helvetica", size=12)
    for page in range(1, pages + 1):
        pdf.add_page()
        pdf.set_y(8)
        pdf.cell(0, 8, "ACME Confidential")
        if page == 1:
            pdf.set_x(120)
            pdf.cell(0, 8, first_page_banner)
        pdf.set_y(80)
        pdf.multi_cell(0, 10, f"Body of page {page} explains the budget of region {page}.")
        pdf.set_y(-20)
        pdf.cell(0, 8, f"Page {page} of {pages}", align="C")
    pdf.output(str(path))


def test_repeated_headers_and_footers_go_but_a_one_off_header_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "report.pdf"
    _pdf_with_furniture(path, pages=3, first_page_banner="Quarterly Report 2024")

    document = parse_file(path)

    texts = [e.text for e in document.elements]
    assert not [t for t in texts if "ACME Confidential" in t or t.startswith("Page ")]
    [banner] = [e for e in document.elements if e.text == "Quarterly Report 2024"]
    assert (banner.kind, banner.page) == ("UncategorizedText", 1)
    assert sum("explains the budget" in t for t in texts) == 3
    assert document.pages == 3


def test_a_title_on_every_page_is_a_running_foot_not_a_heading() -> None:
    pieces = []
    for page in (1, 2, 3, 4):
        pieces += [
            _Piece("Title", "INVOCATION" if page == 2 else f"Section {page}", page=page),
            _Piece("NarrativeText", f"Text of page {page}.", page=page),
            _Piece("Title", "GNU Frob 5.2", page=page),
        ]
    pieces.append(_Piece("Title", "GNU Frob 5.2"))  # no page: not counted, kept
    texts = [e.text for e in _to_elements(pieces)]
    assert texts.count("GNU Frob 5.2") == 1
    assert "INVOCATION" in texts and len(texts) == 9


def test_a_pdf_line_shaped_like_code_an_option_or_a_sentence_is_not_a_heading() -> None:
    guessed = [
        "INVOCATION",
        "Shell Function Definitions",
        "3.2 Resuming transfers",
        "\u2212\u2212login",
        "--rcfile file",
        'if [ -n "$BASH_ENV" ]; then . "$BASH_ENV"; fi',
        "Equivalent to -v.",
        "See https://example.org",
    ]
    kinds = [_pdf_heading_checked(_Piece("Title", text, page=1)).kind for text in guessed]
    assert kinds == ["Title"] * 3 + ["UncategorizedText"] * 5


def test_a_manual_page_is_titled_by_its_name_line(tmp_path: Path) -> None:
    path = tmp_path / "frob.md"
    path.write_text("# NAME\n\nfrob - frobnicate files\n\n# SYNOPSIS\n\nfrob [options] file\n")
    assert parse_file(path).title == "frob - frobnicate files"


def test_a_single_page_keeps_its_header_and_footer_text(tmp_path: Path) -> None:
    path = tmp_path / "memo.pdf"
    _pdf_with_furniture(path, pages=1, first_page_banner="Memo")

    texts = [e.text for e in parse_file(path).elements]

    assert "ACME Confidential" in texts and "Page 1 of 1" in texts


def test_header_and_footer_parts_of_a_word_file_are_dropped(tmp_path: Path) -> None:
    path = tmp_path / "letter.docx"
    word = docx.Document()
    word.sections[0].header.paragraphs[0].text = "ACME letterhead"
    word.sections[0].footer.paragraphs[0].text = "Registered office: Springfield"
    word.add_paragraph("Dear colleagues, the office moves in May.")
    word.save(str(path))

    texts = [e.text for e in parse_file(path).elements]

    assert texts == ["Dear colleagues, the office moves in May."]


def test_a_plain_text_faq_entry_is_headed_by_its_question(tmp_path: Path) -> None:
    path = tmp_path / "FAQ.txt"
    path.write_text(
        "FAQ\n\n"
        "  3.7 Can I use curl to delete a file through FTP?\n\n"
        "  Yes. You specify custom FTP commands with -Q/--quote.\n\n"
        "        curl -O ftp://download.com/coolfile -Q '-DELE coolfile'\n\n"
        "  3.8 How do I tell curl to follow HTTP redirects?\n\n"
        "  curl does not follow so-called redirects by default.\n\n"
        "        curl -L http://redirector.com\n\n"
        "Why is the sky blue?\n\n"
        "Because of Rayleigh scattering of sunlight in the air.\n"
    )

    titles = [e.text for e in parse_file(path).elements if e.is_heading]

    assert "3.7 Can I use curl to delete a file through FTP?" in titles
    assert "3.8 How do I tell curl to follow HTTP redirects?" in titles
    assert "Why is the sky blue?" in titles
    assert not [t for t in titles if "://" in t]  # commands are text, not headings


def test_a_plain_text_faq_entry_starting_in_lower_case_heads_its_answer(tmp_path: Path) -> None:
    path = tmp_path / "FAQ.txt"
    path.write_text(
        "FAQ\n\n"
        "  4.19 Why does curl not notice an unplugged cable?\n\n"
        "  Unplugging a cable is not an error situation for TCP.\n\n"
        "  4.20 curl does not return error for HTTP non-200 responses\n\n"
        "  Correct. Unless you use -f (--fail).\n"
    )

    paths = _heading_paths_by_text(parse_file(path).elements)

    assert paths["Correct. Unless you use -f (--fail)."][-1] == (
        "4.20 curl does not return error for HTTP non-200 responses"
    )


def test_a_guessed_title_inside_a_numbered_entry_stays_inside_it(tmp_path: Path) -> None:
    path = tmp_path / "FAQ.txt"
    path.write_text(
        "FAQ\n\n"
        "  3.21 Why do I get certificate problems?\n\n"
        "  There are several kinds of certificates.\n\n"
        "  SERVER CERTIFICATE\n\n"
        "  The server sends one to prove who it is.\n\n"
        "  3.22 Can I use the library in a GPL program?\n\n"
        "  Yes\n\n"
        "  The licence allows it.\n\n"
        "Chapter 4. Running\n\n"
        "  4.1 Why does it stop?\n\n"
        "  It runs out of input.\n"
    )

    elements = parse_file(path).elements
    paths = _heading_paths_by_text(elements)

    assert paths["The server sends one to prove who it is."] == (
        "FAQ",
        "3.21 Why do I get certificate problems?",
        "SERVER CERTIFICATE",
    )
    assert paths["The licence allows it."][-1] == "3.22 Can I use the library in a GPL program?"
    assert not next(e for e in elements if e.text == "Yes").is_heading
    assert paths["It runs out of input."] == ("Chapter 4. Running", "4.1 Why does it stop?")


def test_a_plain_text_files_own_table_of_contents_is_not_read(tmp_path: Path) -> None:
    path = tmp_path / "FAQ.txt"
    path.write_text(
        "FAQ\n\n"
        " 1. Getting started\n"
        "  1.1 What is frob?\n"
        "  1.2 Who makes frob?\n\n"
        " 2. Running Problems\n"
        "  2.1 Why does frob stop?\n"
        "  2.2 How do I make frob faster?\n\n"
        "Contents\n\n"
        "  2.1 Why does frob stop?\n\n"
        "=====================================================================\n\n"
        "1. Getting started\n\n"
        "  1.1 What is frob?\n\n"
        "  frob turns widgets.\n\n"
        "  1.2 Who makes frob?\n\n"
        "  Here is how it came about:\n\n"
        "  1. copy the widget\n\n"
        "  2. edit the widget\n\n"
        "2. Running Problems\n\n"
        "  Most problems are widgets.\n\n"
        "  2.1 Why does frob stop?\n\n"
        "  It runs out of widgets.\n\n"
        "  2.2 How do I make frob faster?\n\n"
        "  Use -j.\n"
    )

    elements = parse_file(path).elements
    paths = _heading_paths_by_text(elements)

    assert not [e for e in elements if "1.2 Who makes frob?" in e.text and not e.is_heading]
    assert [e.text for e in elements if e.text.strip() == "2.1 Why does frob stop?"] == [
        "2.1 Why does frob stop?"
    ]  # the contents line read as a heading went; the entry stays
    assert "Contents" not in paths
    assert paths["It runs out of widgets."] == (
        "2. Running Problems",
        "2.1 Why does frob stop?",
    )
    assert paths["frob turns widgets."] == ("1. Getting started", "1.1 What is frob?")
    assert not next(e for e in elements if e.text == "2. edit the widget").is_heading


def _heading_paths_by_text(elements: list[Element]) -> dict[str, tuple[str, ...]]:
    """Each element's text, with the heading path it sits under."""
    return dict(zip([e.text for e in elements], heading_paths(elements), strict=True))


def test_short_terms_begin_their_descriptions_and_questions_head_answers(tmp_path: Path) -> None:
    # ffplay's keys and nano's options, as makeinfo writes them
    page = _html_file(
        tmp_path / "keys.html",
        "<html><body><h2>While playing</h2><dl>"
        '<dt><span><tt class="key">q, ESC</tt></span></dt><dd><p>Quit.</p></dd>'
        '<dt><span><tt class="key">f</tt></span></dt><dd><p>Toggle full screen.</p></dd>'
        "<dt><samp>-B</samp></dt><dt><samp>--backup</samp></dt>"
        "<dd><p>Back up the previous version.</p><p>More about backups.</p></dd>"
        "<dt>-x</dt><dd><pre>nano -x file</pre></dd>"
        "<dt>0x01:</dt><dd><code>LIST</code> reports sizes</dd>"
        "<dt>Why does frob stop when I close the lid of my laptop?</dt><dd><p>Power.</p></dd>"
        "</dl></body></html>",
    )

    elements = parse_file(page).elements
    texts = [e.text for e in elements]

    assert texts == [
        "While playing",
        "q, ESC: Quit.",
        "f: Toggle full screen.",  # a one-letter term alone is dropped by the HTML reader
        "-B, --backup: Back up the previous version.",
        "More about backups.",
        "-x:",
        "nano -x file",
        "0x01: LIST reports sizes",  # no second colon
        "Why does frob stop when I close the lid of my laptop?",
        "Power.",
    ]
    question = elements[-2]
    assert question.is_heading  # a FAQ set as a definition list: the question heads its answer
    assert heading_paths(elements)[-1][-1] == question.text


def test_ligatures_and_typeset_minus_signs_are_read_as_the_letters_typed(tmp_path: Path) -> None:
    # what a groff-made PDF's text layer carries for "~/.bash_profile" and "--login"
    path = tmp_path / "startup.txt"
    path.write_text("Bash reads \u02dc/.bash_pro\ufb01le when started with \u2212\u2212login.\n")

    document = parse_file(path)

    [element] = document.elements
    assert element.text == "Bash reads ~/.bash_profile when started with --login."


def test_a_reference_manuals_entries_head_their_descriptions(tmp_path: Path) -> None:
    page = _html_file(
        tmp_path / "frob.html",
        '<html><body><div class="body" role="main"><h1>frob — Frobnicate things</h1>'
        "<h2>Functions</h2>"
        '<dl class="py function"><dt class="sig sig-object py" id="frob.spin">'
        '<span class="sig-name descname">frob.spin</span>(<em>n</em>)</dt>'
        "<dd><p>Spin the frob n times.</p></dd></dl>"
        '<dl class="glossary"><dt id="term-frob">frob</dt><dd><p>A thing.</p></dd></dl>'
        "</div></body></html>",
    )
    elements = parse_file(page).elements
    assert [(e.text, e.kind == "Title") for e in elements] == [
        ("frob — Frobnicate things", True),
        ("Functions", True),
        ("frob.spin(n)", True),
        ("Spin the frob n times.", False),
        ("frob: A thing.", False),  # a glossary term is no documented object: it leads
    ]
    spin = elements[2]
    assert spin.depth is not None and spin.depth > (elements[1].depth or 0)


def test_contents_that_link_to_the_page_by_its_file_name_are_not_read(tmp_path: Path) -> None:
    page = _html_file(
        tmp_path / "ch3.html",
        '<html><body><h1>Chapter 3. Frobbing</h1><div class="toc"><p><b>Table of Contents</b></p>'
        '<dl class="toc"><dt><a href="ch3.html#s3.1">3.1. Spinning</a></dt>'
        '<dt><a href="ch3.html#s3.2">3.2. Stopping</a></dt>'
        '<dt><a href="ch3.html#s3.3">3.3. Starting</a></dt></dl></div>'
        '<h2 id="s3.1">3.1. Spinning</h2><p>Spin it. See <a href="ch4.html#s4.1">4.1</a>.</p>'
        "</body></html>",
    )
    assert [e.text for e in parse_file(page).elements] == [
        "Chapter 3. Frobbing",
        "3.1. Spinning",
        "Spin it. See 4.1.",
    ]


def test_a_books_front_page_contents_that_link_to_its_other_pages_are_not_read(
    tmp_path: Path,
) -> None:
    page = _html_file(
        tmp_path / "index.html",
        "<html><body><h1>Frob User's Guide</h1><p>This guide explains frob.</p>"
        '<div class="toc"><p><b>Table of Contents</b></p><dl class="toc">'
        '<dt><a href="ch1.html">1. General</a></dt><dd><dl>'
        '<dt><a href="ch1.html#s1.1">1.1. Spinning</a></dt></dl></dd>'
        '<dt><a href="ch2.html">2. Stopping</a></dt></dl></div>'
        '<p>See <a href="ch1.html">one</a>, <a href="ch2.html">two</a> and '
        '<a href="ch3.html">three</a> for more on frob.</p>'
        "</body></html>",
    )
    assert [e.text for e in parse_file(page).elements] == [
        "Frob User's Guide",
        "This guide explains frob.",
        "See one, two and three for more on frob.",  # links in a sentence are its text
    ]
