"""Entries of a reference manual that a web page sets as definition terms rather than headings.

Sphinx writes each documented function, class, method, attribute and setting as
`<dt class="sig sig-object py" id="random.choice">random.choice(seq)</dt>` followed by its
description in `<dd>`. Read as text, an entry's description sits under the section's heading
alone ("Functions for sequences"), a passage may start in the middle of the entry before it, and
the model is not told which function a passage describes. Set as the lowest heading, each
entry heads its own description: "random — Generate pseudo-random numbers > Functions for
sequences > random.choice(seq)".
"""

from __future__ import annotations

from lxml import html as lxml_html

_ENTRY = "//dt[contains(concat(' ', normalize-space(@class), ' '), ' sig-object ')]"
_LOWEST_HEADING = "h6"


def mark_entries(tree: lxml_html.HtmlElement) -> bool:
    """Set each documented object's signature as a heading; whether there was any."""
    entries = tree.xpath(_ENTRY)
    for entry in entries:
        entry.tag = _LOWEST_HEADING
    return bool(entries)
