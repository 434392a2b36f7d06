"""Ask on the chat page: the answer streams in, cites its sources, and a citation opens the
passage with the supporting words highlighted. Screenshots on a laptop and a phone."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.actions import PHONE, ask, cited_source, sign_in
from tests.browser.server import MEMBER

pytestmark = [pytest.mark.browser, pytest.mark.slow]
# SmolLM2-135M is a wiring model: which answers it cites moves with every change to the prompt
# or the chunks. It cited these (docent matched its sentence to the passage) when written.
CITED_QUESTIONS = (
    ("What colour badge do contractors wear in the office?", "office-faq.txt"),
    ("Do primary carers receive 18 weeks of parental leave at full pay?", "employee-handbook.md"),
)


def test_an_answer_streams_in_and_its_citation_opens_the_passage(
    page: Page, screenshots: Path
) -> None:
    sign_in(page, MEMBER)
    page.screenshot(path=screenshots / "chat-empty-desktop.png")

    asked, source_file = ask(page, CITED_QUESTIONS[0][0]), CITED_QUESTIONS[0][1]

    streamed = [n for n in asked.growth if n > 0]
    print(f"\nstreamed text lengths before done: {streamed}")
    assert len(set(streamed)) >= 3, f"the answer did not stream in: lengths {asked.growth}"
    assert streamed == sorted(streamed), f"the streamed text shrank: {asked.growth}"
    answer = asked.answer
    expect(answer.locator(".answer-text")).not_to_be_empty()
    expect(answer.locator(".meta")).to_contain_text("SmolLM2")
    expect(page.get_by_role("heading", level=1)).not_to_have_text("New conversation")

    for question, file_name in CITED_QUESTIONS[1:]:
        if answer.locator("a.cite").count():
            break
        page.get_by_role("link", name="+ New conversation").click()
        answer, source_file = ask(page, question).answer, file_name
    chip = answer.locator("a.cite").first
    expect(chip).to_be_visible()
    source = cited_source(page, chip)
    expect(source.locator("details")).not_to_have_attribute("open", "")
    chip.click()
    expect(source.locator("details")).to_have_attribute("open", "")
    passage = source.locator("blockquote")
    expect(passage).to_be_visible()
    expect(passage.locator("mark")).to_be_visible()
    expect(passage.locator("mark")).not_to_be_empty()
    expect(source).to_contain_text(source_file)
    expect(source.get_by_role("link", name="Open the original")).to_be_visible()
    source.scroll_into_view_if_needed()
    page.screenshot(path=screenshots / "chat-cited-answer-source-open.png", full_page=True)

    page.screenshot(path=screenshots / "chat-desktop.png")
    page.set_viewport_size(PHONE)
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=screenshots / "chat-phone.png")
    page.screenshot(path=screenshots / "chat-phone-full.png", full_page=True)
    no_sideways_scroll = "document.documentElement.scrollWidth <= window.innerWidth"
    assert page.evaluate(no_sideways_scroll), "the chat page scrolls sideways on a phone"
