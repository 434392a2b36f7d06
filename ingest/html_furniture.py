"""What a web page shows around its text and a reader never reads as part of it: the permalink
marks after headings ("The tutorial¶" in every Sphinx page, "1 Synopsis# TOC" in FFmpeg's
manuals), whatever the author marked hidden from readers (`aria-hidden="true"`, `hidden`), and
the site's navigation: menus, sidebars, search boxes, "Prev | Home | Next" bars and copyright
footers (`<nav>` and the ARIA landmarks `navigation`, `search`, `contentinfo`; DocBook's
`navheader`/`navfooter`, Texinfo's `nav-panel`). A page that marks its main content (`<main>`,
`role="main"`, as Sphinx does) is read from there alone. Left in, the furniture is the first
heading of every page of a Sphinx manual (so every page was titled "Navigation"), a sidebar table
of contents becomes a passage, and it ends up in the headings the model is shown and in the
keyword index.
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
_MAIN = "//main | //*[@role='main']"
_NAVIGATION = " | ".join(
    [
        "//nav",
        "//*[@role='navigation' or @role='search' or @role='contentinfo']",
        *(
            f"//*[contains(concat(' ', normalize-space(@class), ' '), ' {name} ')]"
            for name in ("navheader", "navfooter", "nav-panel")
        ),
    ]
)


def without_furniture(page: str) -> str | None:
    """The page without its permalink marks and hidden elements, or None when it has none
    (so the page is read exactly as before)."""
    try:
        tree = lxml_html.document_fromstring(_XML_DECLARATION.sub("", page, count=1))
    except (ValueError, etree.ParserError):  # empty or unreadable: let the reader say
        return None
    outside = _outside_main(tree)
    for element in outside:
        element.drop_tree()
    marks = [a for a in tree.xpath(_IN_PAGE_LINKS) if a.text_content().strip() in _PERMALINK_MARKS]
    found = tree.xpath(_FURNITURE) + tree.xpath(_NAVIGATION) + marks  # in-page links: marks only
    if not found and not outside:
        return None
    for element in found:
        if element.getparent() is not None:
            element.drop_tree()  # keeps the text that follows it
    return str(lxml_html.tostring(tree, encoding="unicode"))


def _outside_main(tree: lxml_html.HtmlElement) -> list[lxml_html.HtmlElement]:
    """Everything in the body beside the branch that holds the page's one main element."""
    mains = tree.xpath(_MAIN)
    if len(mains) != 1 or not mains[0].text_content().strip():
        return []  # none, or several: nothing says which is the page's own
    outside = []
    element = mains[0]
    while (parent := element.getparent()) is not None and element.tag != "body":
        outside += [e for e in parent if e is not element and isinstance(e.tag, str)]
        element = parent
    return outside if element.tag == "body" else []
