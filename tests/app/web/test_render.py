"""Answers are Markdown from an untrusted model: rendered, linked, and never able to run script."""

from __future__ import annotations

from dataclasses import replace
from html.parser import HTMLParser

import pytest

from app.answering.support import Span
from app.web.render import answer_html, highlighted, token_html


def test_markdown_is_rendered_and_markers_link_to_their_source() -> None:
    html = answer_html("Trains are **second class** [2].\n\n- lunch [1]\n- dinner", "a7")
    assert "<strong>second class</strong>" in html
    assert '<a class="cite" href="#a7-src-2"' in html and ">[2]</a>" in html
    assert '<li>lunch <a class="cite" href="#a7-src-1"' in html


@pytest.mark.parametrize(
    "hostile",
    [
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        '<a href="javascript:alert(1)">click</a>',
        "[click](javascript:alert(1))",
        "[click](data:text/html;base64,PHNjcmlwdD4=)",
        '<iframe src="https://evil.example"></iframe>',
        "<svg onload=alert(1)>",
    ],
)
def test_nothing_the_model_writes_can_run(hostile: str) -> None:
    tags = _tags(str(answer_html(f"Answer {hostile} [1]", "a1")))
    assert {name for name, _ in tags} <= {"p", "a"}
    for _, attributes in tags:
        assert not any(key.startswith("on") for key in attributes)
        href = attributes.get("href") or ""
        assert href.startswith(("#", "http://", "https://")) or not href


def _tags(html: str) -> list[tuple[str, dict[str, str | None]]]:
    """Every real element in the HTML (escaped text does not count), with its attributes."""
    found: list[tuple[str, dict[str, str | None]]] = []

    class Collector(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            found.append((tag, dict(attrs)))

    Collector().feed(html)
    return found


def test_a_marker_inside_a_link_target_is_left_alone() -> None:
    html = str(answer_html("See [the policy](https://intra.example/p[1]) [1]", "a2"))
    assert html.count('class="cite"') == 1
    assert 'href="https://intra.example/p%5B1%5D"' in html or "p[1]" in html


def test_streamed_tokens_and_passages_are_escaped() -> None:
    assert token_html("<b>hi</b>\nthere") == "&lt;b&gt;hi&lt;/b&gt;<br>there"
    marked = highlighted("a <b> c", Span(2, 5))
    assert str(marked) == "a <mark>&lt;b&gt;</mark> c"


def test_live_sources_report_each_cited_passage_once_even_split_across_tokens() -> None:
    from app.web.render import LiveSources, source_item_html
    from tests.app.sample import PER_DIEM, REMOTE

    live = LiveSources([REMOTE, PER_DIEM])
    assert live.newly_cited("Three days [") == []
    assert live.newly_cited("1] and 45 EUR [2][9]") == [(1, REMOTE), (2, PER_DIEM)]
    assert live.newly_cited(" again [1].") == []  # [9] names no passage: never reported
    item = source_item_html(2, replace(PER_DIEM, title="<b>Expenses</b>"))
    assert item == '<li value="2"><strong>&lt;b&gt;Expenses&lt;/b&gt;</strong> — p. 3</li>'
