"""A web page as a reader reads it: without its furniture (`ingest.html_furniture`), with its
reference entries as headings (`ingest.html_entries`), the descriptions of its short-named
terms beginning with the terms (`ingest.html_terms`); and its `<title>`."""

from __future__ import annotations

import re

from lxml import etree
from lxml import html as lxml_html

from ingest.html_entries import mark_entries
from ingest.html_furniture import drop_furniture
from ingest.html_terms import join_terms

_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")


def readable_page(page: str, name: str = "") -> str | None:
    """The page as a reader reads it, or None when that is the page itself (so it is read
    exactly as before). `name`: the page's file name."""
    tree = _tree(page)
    if tree is None:
        return None
    changed = drop_furniture(tree, name)
    changed |= mark_entries(tree)
    changed |= join_terms(tree)
    return str(lxml_html.tostring(tree, encoding="unicode")) if changed else None


def page_title(page: str) -> str | None:
    """The text of the page's <title>, if it has one."""
    tree = _tree(page)
    found = tree.find(".//title") if tree is not None else None
    return found.text_content() if found is not None else None


def _tree(page: str) -> lxml_html.HtmlElement | None:
    try:
        return lxml_html.document_fromstring(_XML_DECLARATION.sub("", page, count=1))
    except (ValueError, etree.ParserError):  # empty or unreadable: let the reader say
        return None
