"""Headings that plain text marks by underlining them, as reStructuredText and AsciiDoc do
(a Sphinx build's `_sources/*.rst.txt`, a manual page's AsciiDoc source):

    Installing
    ==========

unstructured reads such a file one paragraph at a time and joins each paragraph's lines, so
"NAME ---- frob - add files" came out as one line of prose and the file had no sections. Here
the underline (or over- and underline) is taken away and the title set apart as a paragraph of
its own; its level is the order in which its style first appears, as reStructuredText defines
it (AsciiDoc's `=`, `-`, `~`, `^` come in that order too).

A title is one line, not indented, with a letter or digit in it, after a blank line (or at the
start), and its underline is a run of one punctuation character about as long as the title:
the delimiter closing a code listing follows code, not a blank line, and seldom matches the
length of the line above it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_ADORNMENT = re.compile(r"([=\-~^*+#\"'`:._])\1{2,}")
_MAX_TITLE = 120
_SLACK = 2  # characters an underline may fall short of its title (AsciiDoc allows two)


@dataclass(frozen=True)
class MarkedText:
    text: str  # the file's text with each title set apart and its adornment removed
    depths: dict[str, int]  # title -> level (0: the first style met)


def underlined_headings(text: str) -> MarkedText | None:
    """The text with its underlined titles set apart, or None when it has none."""
    lines = text.splitlines()
    styles: list[tuple[str, bool]] = []
    depths: dict[str, int] = {}
    result: list[str] = []
    index = 0
    while index < len(lines):
        found = _title_at(lines, index)
        if found is None:
            result.append(lines[index])
            index += 1
            continue
        title, style, used = found
        if style not in styles:
            styles.append(style)
        depths.setdefault(title, styles.index(style))
        result += ["", title, ""]
        index += used
    if not depths:
        return None
    return MarkedText("\n".join(result) + "\n", depths)


def _title_at(lines: list[str], i: int) -> tuple[str, tuple[str, bool], int] | None:
    """(title, (adornment character, overlined), lines used) for a title starting at line i."""
    if i > 0 and lines[i - 1].strip():
        return None
    over = _ADORNMENT.fullmatch(lines[i].rstrip())
    closed = over and i + 2 < len(lines) and lines[i + 2].rstrip() == lines[i].rstrip()
    if over and closed and _is_title(lines[i + 1]):
        return lines[i + 1].strip(), (over.group(1), True), 3
    if i + 1 >= len(lines) or not _is_title(lines[i]):
        return None
    under = _ADORNMENT.fullmatch(lines[i + 1].rstrip())
    title = lines[i].strip()
    if under is None or len(under.group(0)) < len(title) - _SLACK:
        return None
    return title, (under.group(1), False), 2


def _is_title(line: str) -> bool:
    text = line.rstrip()
    return (
        0 < len(text) <= _MAX_TITLE
        and not text[0].isspace()
        and any(c.isalnum() for c in text)
        and _ADORNMENT.fullmatch(text) is None
    )
