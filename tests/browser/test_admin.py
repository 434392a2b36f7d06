"""An admin drops a document on the upload page, watches it reach "done", finds it in the
document list, and gets an answer that cites it. Screenshots of the admin pages."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import FilePayload, Page, expect

from tests.browser.actions import DESKTOP, PHONE, ask, cited_source, sign_in
from tests.browser.server import ADMIN, MAX_FILE_MB

pytestmark = [pytest.mark.browser, pytest.mark.slow]
INGEST_MS = 120_000
FILE_NAME = "greenhouse-rota.md"
DOCUMENT = """# Greenhouse rota

The rooftop greenhouse at the Lisbon office is looked after by the Facilities team.

## Watering

The greenhouse plants are watered every Tuesday and Friday at 8 am by the Facilities team.
Nobody else waters them, so that no plant gets too much water.
"""
QUESTION = "When are the greenhouse plants watered?"

# What a browser does when files are dragged onto the zone and dropped there.
DROP = """([name, text]) => {
  const data = new DataTransfer();
  data.items.add(new File([text], name, {type: "text/markdown"}));
  const zone = document.querySelector("[data-dropzone]");
  for (const type of ["dragenter", "dragover", "drop"]) {
    zone.dispatchEvent(new DragEvent(type, {dataTransfer: data, bubbles: true, cancelable: true}));
  }
}"""


def test_a_dropped_document_is_ingested_and_answers_cite_it(page: Page, screenshots: Path) -> None:
    sign_in(page, ADMIN)
    page.get_by_role("banner").get_by_role("link", name="Admin").click()
    admin_nav = page.get_by_role("navigation", name="Admin sections")
    admin_nav.get_by_role("link", name="Upload").click()
    expect(page.get_by_role("heading", name="Upload documents")).to_be_visible()
    page.screenshot(path=screenshots / "admin-upload-empty.png", full_page=True)

    page.evaluate(DROP, [FILE_NAME, DOCUMENT])
    row = page.locator("#upload-status tr.job", has_text=FILE_NAME)
    expect(row).to_be_visible()
    expect(row.locator(".state")).to_have_text("done", timeout=INGEST_MS)
    expect(row.locator(".detail")).to_contain_text(re.compile(r"\d+ chunks?"))
    page.screenshot(path=screenshots / "admin-upload-done.png", full_page=True)

    admin_nav.get_by_role("link", name="Documents").click()
    expect(page.get_by_role("heading", name="Documents", exact=True)).to_be_visible()
    listed = page.locator("#doc-results").get_by_text("Greenhouse rota")
    expect(listed.first).to_be_visible()
    page.screenshot(path=screenshots / "admin-documents.png", full_page=True)
    page.set_viewport_size(PHONE)
    page.screenshot(path=screenshots / "admin-documents-phone.png", full_page=True)
    page.set_viewport_size(DESKTOP)

    page.get_by_role("link", name="Chat", exact=True).click()
    asked = ask(page, QUESTION)
    source = asked.answer.locator("ol.sources > li", has_text=FILE_NAME).first
    expect(source).to_be_attached()
    chip = asked.answer.locator(f"a.cite[href='#{source.get_attribute('id')}']").first
    chip.click()
    expect(cited_source(page, chip).locator("blockquote mark")).to_be_visible()
    expect(source.locator("summary")).to_contain_text("Greenhouse rota")


def test_a_file_over_the_size_limit_is_refused_with_a_clear_message(page: Page) -> None:
    sign_in(page, ADMIN)
    page.goto("/admin/uploads")
    too_big = b"x" * (MAX_FILE_MB * 1024 * 1024 + 1)
    huge = FilePayload(name="huge.txt", mimeType="text/plain", buffer=too_big)
    page.locator("input[type=file]").set_input_files(files=[huge])
    expect(page.locator("#upload-notes")).to_contain_text(
        re.compile(rf"huge\.txt: not sent, larger than the {MAX_FILE_MB} MB limit")
    )
    expect(page.locator("#upload-status")).not_to_contain_text("huge.txt")
