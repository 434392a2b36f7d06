"""Signing a TestClient in, as a browser would (login form, session cookie, CSRF header)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from app.accounts import Accounts, User
from app.web.auth import CSRF_HEADER, SESSION_COOKIE

PASSWORD = "correct horse battery"


def add_user(
    accounts: Accounts,
    username: str = "alice",
    *,
    role: str = "member",
    groups: tuple[str, ...] = (),
    password: str = PASSWORD,
) -> User:
    return accounts.create_user(username, password=password, role=role, groups=groups)


def sign_in(client: TestClient, username: str, password: str = PASSWORD) -> str:
    """Post the login form; afterwards the client sends the session's CSRF token on every
    request (as htmx does from base.html's hx-headers). Returns that token."""
    page = client.get("/login")
    token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    response = client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    csrf = csrf_of(client)
    client.headers[CSRF_HEADER] = csrf
    return csrf


def csrf_of(client: TestClient) -> str:
    """The signed-in page's CSRF token, as base.html renders it."""
    page = client.get("/")
    assert page.status_code == 200, page.text
    assert client.cookies.get(SESSION_COOKIE)
    return page.text.split('name="csrf_token" value="')[1].split('"')[0]
