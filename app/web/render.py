"""Small HTML helpers for answers: escaped text with citation markers turned into links."""

from __future__ import annotations

import re

from markupsafe import Markup, escape

from app.support import Span

_MARKER = re.compile(r"\[(\d+)\]")


def answer_html(text: str, anchor: str) -> Markup:
    """Escape the answer, keep line breaks, and link each [n] to source n of this answer."""
    escaped = str(escape(text)).replace("\n", "<br>")
    linked = _MARKER.sub(
        lambda m: f'<a class="cite" href="#{anchor}-src-{m.group(1)}">[{m.group(1)}]</a>',
        escaped,
    )
    return Markup(linked)


def token_html(text: str) -> str:
    """A streamed piece of answer as inert HTML on one line."""
    return str(escape(text)).replace("\n", "<br>")


def highlighted(text: str, span: Span | None) -> Markup:
    """The passage, escaped, with the supporting span wrapped in <mark>."""
    if span is None:
        return escape(text)
    before, inside, after = text[: span.start], text[span.start : span.end], text[span.end :]
    return Markup(f"{escape(before)}<mark>{escape(inside)}</mark>{escape(after)}")
