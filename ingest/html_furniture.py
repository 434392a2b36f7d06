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
_FURNITURE = (  # hidden from readers, or a Sphinx permalink
    "//*[@aria-hidden='true'] | //*[@hidden]"
    " | //a[contains(concat(' ', normalize-space(@class), ' '), ' headerlink ')]"
)
_IN_PAGE_LINKS = "//a[starts-with(@href, '#')]"


def without_furniture(page: str) -> str | None:
    """The page without its permalink marks and hidden elements, or None when it has none
    (so the page is read exactly as before)."""
    try:
        tree = lxml_html.document_fromstring(_XML_DECLARATION.sub("", page, count=1))
    except (ValueError, etree.ParserError):  # empty or unreadable: let the reader say
        return None
    marks = [a for a in tree.xpath(_IN_PAGE_LINKS) if a.text_content().strip() in _PERMALINK_MARKS]
    found = tree.xpath(_FURNITURE) + marks  # in-page links only when a mark
    if not found:
        return None
    for element in found:
        if element.getparent() is not None:
            element.drop_tree()  # keeps the text that follows it
    return str(lxml_html.tostring(tree, encoding="unicode"))
