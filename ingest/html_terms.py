"""Definition lists whose terms are short names (a key, an option, a file, a setting): each
description begins with its terms.

Manuals set `-B` and `--backup` as two terms over "When saving a file, back up ...", and
ffplay's keys as `f` over "Toggle full screen.". Read as separate pieces, a one-letter term is
lost (the HTML reader keeps no text that short: ffplay's `f`, `m`, `a`, `v`, `s`, `w` were gone,
so their descriptions sat under the key listed before them), and a passage may begin between a
term and its description. Joined, each description names what it describes:
"-B, --backup: When saving a file, back up ...". A term that asks a question (a FAQ written
as a definition list, as AsciiDoc writes `Question?::`) heads its answer instead, as a FAQ's
headings do, so a passage of the answer carries its question. Other long terms stay as they
are, and so do Sphinx's documented objects, which `ingest.html_entries` has made headings
before this runs.
"""

from __future__ import annotations

from lxml import html as lxml_html

_MAX_TERM = 60  # characters: a name, an option with its argument, a key or a short phrase
_QUESTION_HEADING = "h6"  # the lowest: under the page's own sections
_PARAGRAPHS = frozenset({"p", "div", "span"})
_BLOCKS = frozenset(
    {"pre", "ul", "ol", "dl", "table", "blockquote", "h1", "h2", "h3", "h4", "h5", "h6", "hr"}
)


def join_terms(tree: lxml_html.HtmlElement) -> bool:
    """Begin each description of a short-named term with its terms, and set each question
    term as a heading; whether any was."""
    changed = False
    for dl in list(tree.iter("dl")):
        terms: list[lxml_html.HtmlElement] = []
        for child in list(dl):
            if child.tag == "dt" and _text(child).endswith("?"):
                child.tag = _QUESTION_HEADING
                changed, terms = True, []
            elif child.tag == "dt":
                terms.append(child)
            elif child.tag == "dd" and terms:
                changed |= _joined(terms, child)
                terms = []
            else:
                terms = []
    return changed


def _joined(terms: list[lxml_html.HtmlElement], description: lxml_html.HtmlElement) -> bool:
    names = [_text(term) for term in terms]
    if not all(names) or any(len(name) > _MAX_TERM for name in names):
        return False
    label = ", ".join(names)
    lead = label if label.endswith(":") else f"{label}:"
    _begin(description, lead)
    for term in terms:
        _remove_keeping_tail(term)
    return True


def _begin(description: lxml_html.HtmlElement, lead: str) -> None:
    """Put `lead` before the description's first words, in its first paragraph."""
    text = description.text or ""
    first = next(iter(description), None)
    if text.strip() or first is None or not isinstance(first.tag, str):
        description.text = f"{lead} {text.lstrip()}"
        return
    if first.tag in _PARAGRAPHS:
        first.text = f"{lead} {(first.text or '').lstrip()}"
        return
    if first.tag in _BLOCKS:  # a code block or a list first: the terms stand above it
        paragraph = lxml_html.Element("p")
        paragraph.text = lead
        description.insert(0, paragraph)
        return
    description.text = f"{lead} "  # an inline element (code, a link) begins the text


def _text(element: lxml_html.HtmlElement) -> str:
    return " ".join(element.text_content().split())


def _remove_keeping_tail(element: lxml_html.HtmlElement) -> None:
    parent = element.getparent()
    if parent is None:
        return
    tail = element.tail
    if tail and tail.strip():
        previous = element.getprevious()
        if previous is not None:
            previous.tail = (previous.tail or "") + tail
        else:
            parent.text = (parent.text or "") + tail
    parent.remove(element)
