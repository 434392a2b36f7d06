"""What a web page shows around its text and a reader never reads as part of it: the permalink
marks after headings ("The tutorial¶" in every Sphinx page, "1 Synopsis# TOC" in FFmpeg's
manuals) and whatever the author marked hidden from readers (`aria-hidden="true"`, `hidden`).
Left in, they end up in every section heading the model is shown and in the keyword index.
"""

from __future__ import annotations

import re

from lxml import etree
from lxml import html as lxml_html

_PERMALINK_MARKS = frozenset({"¶", "#", "§", "🔗", "⚓"})
_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")
_FURNITURE = (
    "//*[@aria-hidden='true'] | //*[@hidden] | //a[contains(concat(' ', @class, ' '), "
    "' headerlink ')] | //a[starts-with(@href, '#')]"
)


def without_furniture(page: str) -> str | None:
    """The page without its permalink marks and hidden elements, or None when it has none
    (so the page is read exactly as before)."""
    try:
        tree = lxml_html.document_fromstring(_XML_DECLARATION.sub("", page, count=1))
    except (ValueError, etree.ParserError):  # empty or unreadable: let the reader say
        return None
    found = [e for e in tree.xpath(_FURNITURE) if _is_furniture(e)]
    if not found:
        return None
    for element in found:
        if element.getparent() is not None:
            element.drop_tree()  # keeps the text that follows it
    return str(lxml_html.tostring(tree, encoding="unicode"))


def _is_furniture(element: lxml_html.HtmlElement) -> bool:
    if element.get("aria-hidden") == "true" or element.get("hidden") is not None:
        return True
    if "headerlink" in (element.get("class") or "").split():
        return True
    return element.text_content().strip() in _PERMALINK_MARKS  # an in-page link that is a mark
