"""Sign in, sign out, and a member kept out of the admin pages — through the browser."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.actions import sign_in
from tests.browser.server import ADMIN, MEMBER

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_a_wrong_password_is_refused_and_the_right_one_opens_the_chat(page: Page) -> None:
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login\?next=/$"))
    page.get_by_label("Username").fill(ADMIN.username)
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Sign in").click()

    expect(page.get_by_role("alert")).to_have_text("Wrong username or password.")
    expect(page).to_have_url(re.compile(r"/login$"))
    expect(page.get_by_label("Username")).to_have_value(ADMIN.username)

    page.get_by_label("Password").fill(ADMIN.password)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.get_by_role("heading", name="New conversation")).to_be_visible()
    expect(page.get_by_label("Ask the knowledge base")).to_be_visible()
    expect(page.locator("header")).to_contain_text(ADMIN.display_name)

    page.get_by_role("banner").get_by_role("link", name="Admin").click()
    expect(page).to_have_url(re.compile(r"/admin/documents$"))
    expect(page.get_by_role("heading", name="Documents", exact=True)).to_be_visible()


def test_signing_out_ends_the_session(page: Page) -> None:
    sign_in(page, MEMBER)
    expect(page.locator("header")).to_contain_text(MEMBER.display_name)
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/login$"))
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login\?next=/$"))
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()


@pytest.mark.parametrize("path", ["/admin", "/admin/documents", "/admin/uploads", "/admin/users"])
def test_a_member_cannot_reach_the_admin_pages(page: Page, path: str, screenshots: Path) -> None:
    sign_in(page, MEMBER)
    expect(page.get_by_role("banner").get_by_role("link", name="Admin")).to_have_count(0)
    response = page.goto(path)
    assert response is not None and response.status == 403
    expect(page.locator("body")).to_contain_text("for administrators")
    expect(page.get_by_role("navigation", name="Admin sections")).to_have_count(0)
    if path == "/admin":
        page.screenshot(path=screenshots / "member-admin-403.png")
