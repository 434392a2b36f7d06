"""A person in a browser gets an error page; API and htmx callers keep JSON."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from app.services import Services
from tests.app.signin import add_user, sign_in

PAGE = {"Accept": "text/html,application/xhtml+xml"}


@pytest.fixture
def member(anonymous: TestClient, services: Services) -> TestClient:
    add_user(services.accounts, "member")
    sign_in(anonymous, "member")
    return anonymous


def test_a_member_opening_an_admin_page_sees_a_page_that_says_why(member: TestClient) -> None:
    response = member.get("/admin", headers=PAGE)
    assert response.status_code == 403
    assert response.headers["content-type"].startswith("text/html")
    assert "Not allowed" in response.text and "for administrators" in response.text
    assert 'action="/logout"' in response.text  # the usual header: the member can sign out


def test_unknown_page_is_a_404_page(member: TestClient) -> None:
    response = member.get("/conversations/999999", headers=PAGE)
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")


def test_api_and_htmx_callers_still_get_json(member: TestClient) -> None:
    htmx = member.get("/admin", headers=PAGE | {"HX-Request": "true"})
    assert htmx.status_code == 403 and htmx.json()["detail"].endswith("administrators.")
    api = member.get("/admin", headers={"Accept": "application/json"})
    assert api.status_code == 403 and "detail" in api.json()
