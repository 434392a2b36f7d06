"""What a person does in the browser: sign in, ask and watch the answer arrive."""

from __future__ import annotations

import re
from dataclasses import dataclass

from playwright.sync_api import Locator, Page, ViewportSize, expect

from tests.browser.server import Account

DESKTOP = ViewportSize(width=1280, height=800)
PHONE = ViewportSize(width=375, height=812)
ANSWER_MS = 300_000  # SmolLM2 takes seconds on idle cores, minutes on cores other work shares

# Lengths of the streaming answer's text at each change, until the finished answer replaces it.
WATCH_GROWTH = """() => {
  window.docentGrowth = [];
  const answers = document.getElementById("answers");
  new MutationObserver(() => {
    const text = answers.querySelector("article.streaming .answer-text");
    if (text) window.docentGrowth.push(text.textContent.length);
  }).observe(answers, {subtree: true, childList: true, characterData: true});
}"""


@dataclass(frozen=True)
class Asked:
    answer: Locator  # the finished answer's <article>
    growth: list[int]  # the streaming text's lengths, in order, before the answer was done


def sign_in(page: Page, account: Account) -> None:
    """Sign in through the form; lands on the chat page."""
    page.goto("/login")
    page.get_by_label("Username").fill(account.username)
    page.get_by_label("Password").fill(account.password)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/$"))


def ask(page: Page, question: str) -> Asked:
    """Type the question, press Ask, wait for the finished answer."""
    before = page.locator("#answers > article.answer").count()
    page.evaluate(WATCH_GROWTH)
    page.get_by_role("textbox", name=re.compile("^Ask")).fill(question)
    page.get_by_role("button", name="Ask", exact=True).click()
    answer = page.locator("#answers > article.answer").nth(before)
    expect(answer).to_contain_text(question)
    expect(answer).not_to_have_class(re.compile(r"\bstreaming\b"), timeout=ANSWER_MS)
    expect(answer.locator(".answer-foot")).to_be_visible(timeout=ANSWER_MS)
    return Asked(answer, page.evaluate("window.docentGrowth"))


def cited_source(page: Page, chip: Locator) -> Locator:
    """The sources list item a citation chip points at."""
    href = chip.get_attribute("href") or ""
    assert href.startswith("#"), f"a citation chip should link to its source, not {href!r}"
    return page.locator(f"[id='{href[1:]}']")
