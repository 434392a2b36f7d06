"""Every response carries the security headers; the pages run no inline script or style (so the
Content-Security-Policy can forbid them); the CDN-loaded API documentation is off by default."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.paths import STATIC_DIR, TEMPLATES_DIR
from app.services import Services
from app.settings import Settings
from app.web import create_app
from tests.app.sample import ingest_remote_work
from tests.app.signin import add_user, sign_in


@pytest.fixture
def client(settings: Settings, services: Services, tmp_path: Path) -> Iterator[TestClient]:
    ingest_remote_work(services, tmp_path)
    add_user(services.accounts, "alice")
    with TestClient(create_app(settings, services)) as client:
        yield client


def policy(header: str) -> dict[str, str]:
    return {
        part.strip().split(" ", 1)[0]: part.strip().partition(" ")[2]
        for part in header.split(";")
        if part.strip()
    }


def assert_secured(response: object) -> None:
    headers = response.headers  # type: ignore[attr-defined]
    csp = policy(headers["Content-Security-Policy"])
    assert csp["script-src"] == "'self'"
    assert csp["style-src"] == "'self'"
    assert csp["frame-ancestors"] == "'none'"
    assert csp["object-src"] == "'none'"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "same-origin"
    assert "Strict-Transport-Security" not in headers  # plain http


def test_every_kind_of_response_carries_the_security_headers(client: TestClient) -> None:
    anonymous = [
        client.get("/login"),
        client.get("/", headers={"Accept": "text/html"}, follow_redirects=False),
        client.get("/healthz"),
        client.post("/api/v1/ask", json={"question": "x"}),  # 401
        client.get("/no/such/page"),
        client.get("/static/style.css"),
        client.post("/login", content=b"x" * (1 << 20)),  # 413, from the body limit
    ]
    sign_in(client, "alice")
    signed_in = [client.get("/"), client.get("/api/v1/documents")]  # a page, a 403
    for response in anonymous + signed_in:
        assert_secured(response)


def test_hsts_only_on_https(settings: Settings, services: Services) -> None:
    with TestClient(create_app(settings, services), base_url="https://testserver") as client:
        response = client.get("/login")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")


TEMPLATES = sorted(TEMPLATES_DIR.rglob("*.html"))


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda p: str(p.relative_to(TEMPLATES_DIR)))
def test_no_template_holds_inline_script_or_style(template: Path) -> None:
    """What the policy would block: inline <script>, on…= handlers, hx-on (htmx evaluates it),
    style attributes and <style> elements."""
    text = template.read_text()
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text), "inline <script>"
    assert not re.search(r"\son[a-z]+\s*=", text, re.I), "inline event handler"
    assert "hx-on" not in text
    assert not re.search(r"\sstyle\s*=", text), "style attribute"
    assert "<style" not in text
    for src in re.findall(r"<script[^>]*\bsrc=\"([^\"]+)\"", text):
        assert src.startswith("/static/")


def test_htmx_is_told_to_inject_no_style_and_evaluate_nothing() -> None:
    base = (TEMPLATES_DIR / "base.html").read_text()
    config = json.loads(re.search(r"name=\"htmx-config\" content='([^']+)'", base)[1])  # type: ignore[index]
    assert config == {
        "includeIndicatorStyles": False,  # it would inject a <style>
        "allowEval": False,  # hx-on, js: values
        "attributesToSettle": ["class", "width", "height"],  # not "style": it copies style=""
    }
    assert (STATIC_DIR / "page.js").is_file() and ".htmx-indicator" in (
        STATIC_DIR / "style.css"
    ).read_text()


def test_the_cdn_documentation_pages_are_off_by_default(client: TestClient) -> None:
    assert client.get("/docs").status_code == 404
    assert client.get("/redoc").status_code == 404
    assert client.get("/openapi.json").status_code == 200  # the schema itself stays


def test_the_documentation_pages_can_be_turned_on(settings: Settings, services: Services) -> None:
    with TestClient(create_app(settings.model_copy(update={"api_docs": True}), services)) as c:
        docs, redoc, login = c.get("/docs"), c.get("/redoc"), c.get("/login")
    assert docs.status_code == redoc.status_code == 200
    assert "cdn.jsdelivr.net" in policy(docs.headers["Content-Security-Policy"])["script-src"]
    assert policy(login.headers["Content-Security-Policy"])["script-src"] == "'self'"


def test_an_unhandled_crash_is_a_500_that_carries_the_security_headers(
    settings: Settings, services: Services
) -> None:
    app = create_app(settings, services)

    def crash() -> None:
        raise RuntimeError("a bug in a route")

    app.add_api_route("/crash", crash)
    with TestClient(app, raise_server_exceptions=False) as anonymous:
        response = anonymous.get("/crash")

    assert response.status_code == 500
    assert response.text == "Internal Server Error"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert response.headers["x-content-type-options"] == "nosniff"
