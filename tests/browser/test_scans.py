"""A question answered from a scanned PDF (read by OCR when `docent ingest` took it in): the
cited source shows the page as a picture with the supporting lines outlined. Screenshot."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.actions import ask, cited_source, sign_in
from tests.browser.server import MEMBER

pytestmark = [pytest.mark.browser, pytest.mark.slow]
# SmolLM2-135M is a wiring model: which it cites moves with the prompt and the chunks.
QUESTIONS = (
    "Where are bicycles kept?",
    "Where is the locked bicycle cage?",
    "Who has the key to the bicycle cage?",
)


def test_a_cited_scan_shows_its_page_with_the_passage_outlined(
    page: Page, screenshots: Path
) -> None:
    sign_in(page, MEMBER)
    for question in QUESTIONS:
        answer = ask(page, question).answer
        chips = answer.locator("a.cite")
        sources = [cited_source(page, chips.nth(i)) for i in range(chips.count())]
        scan = next((s for s in sources if "bicycles.pdf" in (s.text_content() or "")), None)
        if scan is not None:
            break
        page.get_by_role("link", name="+ New conversation").click()
    assert scan is not None, "no answer cited the scanned PDF"

    scan.locator("summary").click()
    figure = scan.locator("figure.page-view")
    expect(figure).to_be_visible()
    picture = figure.locator("img")
    expect(picture).to_have_attribute("src", re.compile(r"^/documents/[^/]+/pages/1\.png$"))
    page.wait_for_function(
        "img => img.complete && img.naturalWidth > 0", arg=picture.element_handle()
    )
    outlines = figure.locator("svg rect")
    assert outlines.count() >= 1
    box, frame = outlines.first.bounding_box(), picture.bounding_box()
    assert box and frame and box["width"] > 0.2 * frame["width"]  # a line of text, outlined
    assert frame["y"] <= box["y"] <= frame["y"] + frame["height"]
    figure.scroll_into_view_if_needed()
    page.screenshot(path=screenshots / "chat-scan-outlined.png", full_page=True)
    figure.screenshot(path=screenshots / "scan-page-outlined.png")
