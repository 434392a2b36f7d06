"""A citation's label: page when known, else the heading trail without repeating the title."""

from __future__ import annotations

from dataclasses import replace

from tests.app.sample import passage


def test_page_wins_over_headings() -> None:
    assert passage("x", page=3).location == "p. 3"
    assert replace(passage("x", page=3), page_end=5).location == "pp. 3–5"


def test_heading_trail_skips_the_document_title() -> None:
    nested = replace(passage("x", "Handbook"), headings=("Handbook", "Leave", "Sick leave"))
    assert nested.location == "Leave > Sick leave"


def test_a_lone_heading_equal_to_the_title_is_not_shown_twice() -> None:
    alone = replace(passage("x", "Remote work"), headings=("Remote work",))
    assert alone.location == ""
    other = replace(passage("x", "Remote work"), headings=("Working abroad",))
    assert other.location == "Working abroad"
