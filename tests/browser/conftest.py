"""Browser fixtures: one real docent per session, Debian's Chromium driven by Playwright.

DOCENT_CHROMIUM names the browser binary (default /usr/bin/chromium); DOCENT_SCREENSHOTS the
folder for screenshots (default: a pytest temporary folder). Without Chromium the tests fail and
say what to install, unless DOCENT_SKIP_BROWSER=1 (then they are skipped, and say so).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Playwright, sync_playwright

from tests.browser.actions import DESKTOP
from tests.browser.server import start

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT_MS = 30_000


def chromium_path() -> str:
    """The Chromium binary, or a failure that says how to get it."""
    path = os.environ.get("DOCENT_CHROMIUM", CHROMIUM)
    if os.access(path, os.X_OK):
        return path
    pytest.fail(
        f"The browser tests need Chromium at {path}: `apt-get install chromium chromium-driver` "
        "(or set DOCENT_CHROMIUM to its path; DOCENT_SKIP_BROWSER=1 skips these tests).",
        pytrace=False,
    )


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    if os.environ.get("DOCENT_SKIP_BROWSER") == "1":
        pytest.skip("browser tests skipped: DOCENT_SKIP_BROWSER=1")
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@pytest.fixture(scope="session")
def docent_server(browser: Browser, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The URL of a running docent (started after the browser, so a missing one fails first)."""
    server = start(tmp_path_factory.mktemp("browser-docent"))
    yield server.url
    server.stop()


@pytest.fixture(scope="session")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = os.environ.get("DOCENT_SCREENSHOTS")
    path = Path(folder) if folder else tmp_path_factory.mktemp("screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture
def page(browser: Browser, docent_server: str) -> Iterator[Page]:
    """A fresh, signed-out browser context (own cookies) at desktop size."""
    context = browser.new_context(base_url=docent_server, viewport=DESKTOP)
    context.set_default_timeout(TIMEOUT_MS)
    refused: list[str] = []  # what the Content-Security-Policy blocked, on any of its pages
    context.on(
        "console",
        lambda message: (
            refused.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    page = context.new_page()
    yield page
    context.close()
    assert refused == [], "the pages did something their Content-Security-Policy forbids"
