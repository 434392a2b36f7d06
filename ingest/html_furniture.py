"""What a web page shows around its text and a reader never reads as part of it:

- permalink marks after headings ("The tutorial¶" in every Sphinx page, "1 Synopsis# TOC" in
  FFmpeg's manuals) and whatever the author hid from readers (`aria-hidden="true"`, `hidden`);
- the site's navigation: `<nav>` and the ARIA landmarks `navigation`, `search` and
  `contentinfo` (Sphinx's sidebars and "related" bars, copyright footers), DocBook's
  "Prev | Home | Next" bars, Texinfo's "Next: … Up: …" lines, a menu bar of links above the
  first heading, and a site name set as the first heading that links home;
- the page's own table of contents: a block of nothing but links into the page, or of links
  anywhere when it is marked as contents (a book's front page), with its "Contents" caption.

A page that marks its main content (`<main>`, `role="main"`, as Sphinx does) is read from there
alone. Left in, furniture became the title of every page of a Sphinx manual ("Navigation"),
filled passage slots with sidebars and tables of contents, and sat in the headings the model is
shown and in the keyword index.
"""

from __future__ import annotations

from lxml import html as lxml_html

_PERMALINK_MARKS = frozenset({"¶", "#", "§", "🔗", "⚓"})
_FURNITURE = (  # hidden from readers, or a Sphinx permalink
    "//*[@aria-hidden='true'] | //*[@hidden]"
    " | //a[contains(concat(' ', normalize-space(@class), ' '), ' headerlink ')]"
)
_IN_PAGE_LINKS = "//a[starts-with(@href, '#')]"
_MAIN = "//main | //*[@role='main']"
_TOC_BLOCKS = ("ul", "ol", "dl", "p", "blockquote", "div", "table")
_TOC_MIN_LINKS = 3
_TOC_LINK_SHARE = 0.9  # of a block's visible characters that are link text
_TOC_CAPTION = 40  # characters a container may add to a table of contents and still go with it
_CAPTION_PARTS = 3  # elements such a container holds at most (caption, block, a rule)
_CONTENTS_CLASSES = frozenset({"toc", "toctree-wrapper"})
_HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")
_NODE_RELATIONS = {"next", "prev", "previous", "up"}
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


def drop_furniture(tree: lxml_html.HtmlElement, name: str = "") -> bool:
    """Take the page's furniture out of `tree`; whether there was any. `name`: the page's file
    name, by which it may link to itself (DocBook's contents link "ch1.html#s1.1" in ch1.html)."""
    _as_page_links(tree, name)
    changed = _dropped(_outside_main(tree))
    marks = [a for a in tree.xpath(_IN_PAGE_LINKS) if a.text_content().strip() in _PERMALINK_MARKS]
    changed |= _dropped(tree.xpath(_FURNITURE) + tree.xpath(_NAVIGATION) + marks)
    changed |= _dropped(
        _tables_of_contents(tree) + _menus_before_the_text(tree) + _node_links(tree)
    )
    return _banner_to_text(tree) or changed


def _as_page_links(tree: lxml_html.HtmlElement, name: str) -> None:
    """Links to a place in this very page written with its file name become "#place"."""
    if not name:
        return
    for link in tree.xpath("//a[@href]"):
        page, mark, place = link.get("href", "").partition("#")
        if mark and page == name:
            link.set("href", f"#{place}")


def _dropped(elements: list[lxml_html.HtmlElement]) -> bool:
    for element in elements:
        if element.getparent() is not None:
            element.drop_tree()  # keeps the text that follows it
    return bool(elements)


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


def _tables_of_contents(tree: lxml_html.HtmlElement) -> list[lxml_html.HtmlElement]:
    """Blocks that are only links into the page, or only links and marked as contents, each
    with the container around it when that adds no more than a caption ("Table of
    Contents"), and headings that are one link to
    another place in the page (a contents entry set as a heading, as nano's FAQ does)."""
    found: list[lxml_html.HtmlElement] = []
    for block in tree.iter(*_TOC_BLOCKS):  # document order: a block inside one found comes
        if _inside(block, set(found[-1:])):  # right after it
            continue
        if _only_page_links(block) or (_marked_as_contents(block) and _only_links(block)):
            found.append(_with_caption(block))
    chosen = set(found)
    found = [f for f in found if not _inside(f, chosen)]  # a caption's container took it in
    found += [heading for heading in tree.iter(*_HEADINGS) if _is_contents_entry(heading)]
    found += _link_runs(tree)
    gone = set(found)
    return found + [h for h in tree.iter(*_HEADINGS) if _captions(h, gone)]


def _marked_as_contents(block: lxml_html.HtmlElement) -> bool:
    """Marked as a table of contents by its class or id (DocBook's `class="toc"`, Sphinx's
    `toctree-wrapper`, pandoc's `id="TOC"`): on a book's front page its links lead to the
    other pages, whose text is read there."""
    classes = set(block.get("class", "").split())
    return bool(classes & _CONTENTS_CLASSES) or block.get("id", "").lower() == "toc"


def _inside(element: lxml_html.HtmlElement, chosen: set[lxml_html.HtmlElement]) -> bool:
    """Whether an ancestor of `element` is among `chosen` (lxml hands out one object per node
    while it is referenced, so a set of them works)."""
    return any(ancestor in chosen for ancestor in element.iterancestors())


def _is_contents_entry(heading: lxml_html.HtmlElement) -> bool:
    """A heading that is one link to another place in the page."""
    link = _sole_link(heading, ".//a[starts-with(@href, '#')]")
    if link is None:
        return False
    own = {heading.get("id"), link.get("id"), link.get("name")}
    return link.get("href", "")[1:] not in own


def _sole_link(
    heading: lxml_html.HtmlElement, which: str = ".//a[@href]"
) -> lxml_html.HtmlElement | None:
    """The one link (of those `which` selects) that is the whole of the heading's text."""
    links = heading.xpath(which)
    if len(links) != 1 or not _visible(heading) or _visible(links[0]) != _visible(heading):
        return None
    return links[0]


def _link_runs(tree: lxml_html.HtmlElement) -> list[lxml_html.HtmlElement]:
    """Links into the page set one per line straight in a container (`<a>…</a><br/>`, as
    fetchmail's FAQ lists its contents), three or more in a row with nothing else between."""
    found: list[lxml_html.HtmlElement] = []
    for parent in tree.iter():
        run: list[lxml_html.HtmlElement] = []
        for child in [*parent, None]:
            if child is not None and _in_run(child):
                run.append(child)
                continue
            if sum(c.tag == "a" for c in run) >= _TOC_MIN_LINKS:
                found += run
            run = []
    return found


def _in_run(child: lxml_html.HtmlElement) -> bool:
    link = child.tag == "a" and child.get("href", "").startswith("#")
    return (link or child.tag == "br") and not (child.tail or "").strip()


def _captions(heading: lxml_html.HtmlElement, found: set[lxml_html.HtmlElement]) -> bool:
    """A "Contents" heading whose next element went as a table of contents."""
    following = heading.getnext()
    caption = heading.text_content().strip().lower()
    return following in found and ("contents" in caption or caption == "on this page")


def _only_page_links(block: lxml_html.HtmlElement) -> bool:
    return _only_links(block, ".//a[starts-with(@href, '#')]")


def _only_links(block: lxml_html.HtmlElement, which: str = ".//a[@href]") -> bool:
    links = block.xpath(which)
    if len(links) < _TOC_MIN_LINKS:
        return False
    linked = sum(len(_visible(a)) for a in links)
    return linked >= _TOC_LINK_SHARE * len(_visible(block)) > 0


def _menus_before_the_text(tree: lxml_html.HtmlElement) -> list[lxml_html.HtmlElement]:
    """Blocks of nothing but links (to anywhere) above the page's first heading: a site's
    menu bar where the page does not mark it as navigation (SQLite's "Home About
    Documentation Download …")."""
    first = next(tree.iter(*_HEADINGS), None)
    if first is None:
        return []
    found: list[lxml_html.HtmlElement] = []
    for block in tree.iter(*_TOC_BLOCKS, *_HEADINGS):
        if block is first:
            break  # document order: everything after it is the page's text
        if _inside(block, set(found[-1:])) or first in block.iterdescendants():
            continue
        if _only_links(block):
            found.append(_with_caption(block, keep=first))
    return found


def _node_links(tree: lxml_html.HtmlElement) -> list[lxml_html.HtmlElement]:
    """ "Next: … Previous: … Up: …" lines: a block whose links lead to the neighbouring pages
    (`rel="next"`, as Texinfo writes them) and whose own words are only their labels."""
    found: list[lxml_html.HtmlElement] = []
    for block in tree.iter("div", "p", "table"):
        if _inside(block, set(found[-1:])):
            continue
        links = block.xpath(".//a[@rel]")
        related = [a for a in links if set(a.get("rel", "").split()) & _NODE_RELATIONS]
        linked = sum(len(_visible(a)) for a in block.xpath(".//a"))
        if len(related) >= 2 and len(_visible(block)) - linked <= _TOC_CAPTION:
            found.append(block)
    return found


def _banner_to_text(tree: lxml_html.HtmlElement) -> bool:
    """The page's first heading, when it is one link to another page and more headings follow,
    is the site's name over every page (`<h1><a href="index.html">Frob documentation</a></h1>`),
    not the page's own title: it stays as text."""
    headings = list(tree.iter(*_HEADINGS))
    if len(headings) < 2:
        return False
    link = _sole_link(headings[0])
    if link is None or link.get("href", "").startswith("#"):
        return False
    headings[0].tag = "p"
    return True


def _with_caption(
    block: lxml_html.HtmlElement, keep: lxml_html.HtmlElement | None = None
) -> lxml_html.HtmlElement:
    size = len(_visible(block))
    while (parent := block.getparent()) is not None and parent.tag not in ("body", "html"):
        if len(parent) > _CAPTION_PARTS or keep in parent.iterdescendants():
            break  # more than a caption and the block: text of its own (counted no further)
        if len(_visible(parent)) - size > _TOC_CAPTION:
            break
        block = parent
    return block


def _visible(element: lxml_html.HtmlElement) -> str:
    return "".join(element.text_content().split())
