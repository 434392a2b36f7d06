"""Every /admin route and /api/v1/documents is for admins: members get 403, anonymous visitors
401 (or the sign-in page); form posts without the session's CSRF token are refused.
Also the audit log page."""

from __future__ import annotations

import re

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from app.services import Services
from app.settings import Settings
from app.web import create_app
from tests.app import admining
from tests.app.signin import add_user, sign_in
from tests.app.web.test_auth_routes import all_routes

admin, admin_settings, admin_services = (
    admining.admin,
    admining.admin_settings,
    admining.admin_services,
)


def admin_routes(app: FastAPI) -> list[tuple[str, str]]:
    found = []
    for route in all_routes(app):
        original = getattr(route, "original_route", route)
        if not isinstance(original, APIRoute):
            continue
        if route.path.startswith(("/admin", "/api/v1/documents", "/api/v1/uploads")):
            for method in sorted(route.methods):
                found.append((method, re.sub(r"\{[^}]+\}", "1", route.path)))
    return found


@pytest.fixture
def app(admin_settings: Settings, admin_services: Services) -> FastAPI:
    return create_app(admin_settings, admin_services)


def test_members_get_403_on_every_admin_route(app: FastAPI, admin_services: Services) -> None:
    add_user(admin_services.accounts, "mia")
    routes = admin_routes(app)
    assert len(routes) >= 25  # every page group is there
    with TestClient(app) as client:
        sign_in(client, "mia")
        for method, url in routes:
            response = client.request(method, url, follow_redirects=False)
            assert response.status_code == 403, (method, url, response.text)
        files = [("files", ("a.md", b"# A\n\ntext\n"))]
        assert client.post("/admin/uploads", files=files).status_code == 403
    assert admin_services.accounts.audit_entries() == []


def test_anonymous_visitors_are_sent_to_sign_in(app: FastAPI) -> None:
    with TestClient(app) as client:
        for method, url in admin_routes(app):
            response = client.request(method, url, follow_redirects=False)
            assert response.status_code == 401, (method, url)
        page = client.get("/admin/users", headers={"Accept": "text/html"}, follow_redirects=False)
        assert page.headers["location"] == "/login?next=/admin/users"


def test_form_posts_need_the_csrf_token(admin: TestClient, admin_services: Services) -> None:
    admin.headers.pop("X-CSRF-Token")
    for url, data in [
        ("/admin/users", {"username": "eve"}),
        ("/admin/groups", {"name": "eve"}),
        ("/admin/prompts/system.j2", {"source": "x {{ not_found }}"}),
    ]:
        response = admin.post(url, data=data)
        assert response.status_code == 403 and "CSRF" in response.text
    files = [("files", ("a.md", b"# A\n\ntext\n"))]
    assert admin.post("/admin/uploads", files=files).status_code == 403
    assert admin_services.accounts.find_user("eve") is None
    assert admin_services.accounts.list_groups() == []


def test_the_audit_log_lists_admin_actions_newest_first_a_page_at_a_time(
    admin: TestClient, admin_services: Services
) -> None:
    for n in range(55):
        admin.post("/admin/groups", data={"name": f"team {n:02d}"})
    first = admin.get("/admin/audit").text
    targets = re.findall(r'<td class="name">([^<]*)</td>', first)
    assert len(targets) == 50 and targets[0] == "team 54" and targets[-1] == "team 05"
    assert "<td>boss</td>" in first and "<code>add-group</code>" in first
    assert 'href="/admin/audit?page=2"' in first
    second = admin.get("/admin/audit?page=2").text
    assert re.findall(r'<td class="name">([^<]*)</td>', second) == [
        f"team {n:02d}" for n in (4, 3, 2, 1, 0)
    ]
    assert "page=3" not in second


def test_every_admin_page_renders(admin: TestClient) -> None:
    for url in [
        "/admin/documents",
        "/admin/uploads",
        "/admin/users",
        "/admin/prompts",
        "/admin/prompts/answer.j2",
        "/admin/feedback",
        "/admin/analytics",
        "/admin/audit",
    ]:
        page = admin.get(url)
        assert page.status_code == 200, url
        assert 'aria-current="page"' in page.text and "<h1>" in page.text
    assert admin.get("/admin", follow_redirects=False).headers["location"] == "/admin/documents"
