"""Signing in and out, sessions, CSRF, API tokens and invites, through the web app."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient

from app.accounts import Accounts, Passwords, Policy
from app.accounts.db import make_engine
from app.services import Services
from app.settings import Settings
from app.web import create_app
from app.web.auth import CSRF_HEADER, SESSION_COOKIE, safe_next
from app.web.client import client_address_of
from tests.app.accounts.test_auth_accounts import Clock
from tests.app.sample import ingest_remote_work
from tests.app.signin import PASSWORD, add_user, sign_in
from tests.fakes import FakeGenerator


@pytest.fixture
def app_services(services: Services, tmp_path: Path) -> Services:
    ingest_remote_work(services, tmp_path)
    return services


@pytest.fixture
def client(settings: Settings, app_services: Services) -> Iterator[TestClient]:
    with TestClient(create_app(settings, app_services)) as client:
        yield client


def _login_form(client: TestClient) -> str:
    page = client.get("/login")
    assert page.status_code == 200
    return page.text.split('name="csrf_token" value="')[1].split('"')[0]


def _post_login(
    client: TestClient, username: str, password: str, next: str = "/"
) -> tuple[int, str, str]:
    token = _login_form(client)
    response = client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token, "next": next},
        follow_redirects=False,
    )
    return response.status_code, response.headers.get("location", ""), response.text


# --- anonymous requests ---------------------------------------------------------------------------
def test_anonymous_page_visit_is_sent_to_the_sign_in_page(client: TestClient) -> None:
    page = client.get("/", headers={"Accept": "text/html"}, follow_redirects=False)
    assert page.status_code == 303
    assert page.headers["location"] == "/login?next=/"
    login = client.get(page.headers["location"])
    assert 'action="/login"' in login.text and 'name="next" value="/"' in login.text


def test_anonymous_api_and_htmx_requests_get_401(client: TestClient) -> None:
    api = client.post("/api/v1/ask", json={"question": "Remote days?"})
    assert api.status_code == 401
    assert api.headers["www-authenticate"] == "Bearer"
    assert "Authorization: Bearer" in api.json()["detail"]
    htmx = client.post(
        "/ask",
        data={"question": "Remote days?"},
        headers={"HX-Request": "true", "HX-Current-URL": "http://testserver/"},
    )
    assert htmx.status_code == 401
    assert htmx.headers["hx-redirect"] == "/login?next=/"
    stream = client.get("/ask/stream", params={"q": "Remote days?"})
    assert stream.status_code == 401


# --- signing in ----------------------------------------------------------------------------------
def test_sign_in_sets_a_protected_session_cookie_and_returns_to_next(
    client: TestClient, app_services: Services
) -> None:
    add_user(app_services.accounts, "alice")
    status, location, _ = _post_login(client, "alice", PASSWORD, next="/?from=login")
    assert (status, location) == (303, "/?from=login")
    cookie = next(
        c for c in client.cookies.jar if c.name == SESSION_COOKIE
    )  # the raw cookie, with its flags
    assert cookie.has_nonstandard_attr("HttpOnly")
    assert cookie.get_nonstandard_attr("SameSite", "").lower() == "lax"
    assert not cookie.secure  # plain http here; see the https test
    page = client.get("/")
    assert page.status_code == 200
    assert "alice" in page.text and "Sign out" in page.text


def test_session_cookie_is_secure_over_https_or_when_configured(
    settings: Settings, app_services: Services
) -> None:
    add_user(app_services.accounts, "alice")
    with TestClient(create_app(settings, app_services), base_url="https://testserver") as https:
        _post_login(https, "alice", PASSWORD)
        assert any(c.secure for c in https.cookies.jar if c.name == SESSION_COOKIE)
    forced = settings.model_copy(update={"cookie_secure": True})
    with TestClient(create_app(forced, app_services)) as http:
        response = http.post(
            "/login",
            data={"username": "alice", "password": PASSWORD, "csrf_token": _login_form(http)},
            follow_redirects=False,
        )
        assert "secure" in response.headers["set-cookie"].lower()


def test_wrong_password_is_refused_with_a_message(
    client: TestClient, app_services: Services
) -> None:
    add_user(app_services.accounts, "alice")
    status, _, text = _post_login(client, "alice", "not the password")
    assert status == 401
    assert "Wrong username or password." in text
    assert SESSION_COOKIE not in client.cookies
    assert client.get("/").status_code == 401


@pytest.mark.parametrize("target", ["//evil.example/", "https://evil.example/", "/\\evil", "x"])
def test_next_never_leaves_the_site(target: str) -> None:
    assert safe_next(target) == "/"
    assert safe_next("/ask?q=1") == "/ask?q=1"


def test_repeated_failures_are_rate_limited_per_username_and_address(
    settings: Settings, app_services: Services
) -> None:
    add_user(app_services.accounts, "alice")
    app = create_app(settings, app_services)
    with TestClient(app, client=("198.51.100.7", 1)) as attacker:
        statuses = [_post_login(attacker, "alice", f"guess {n}")[0] for n in range(5)]
        assert statuses == [401] * 5
        status, _, text = _post_login(attacker, "alice", PASSWORD)  # even the right one
        assert status == 429
        assert "Too many sign-in attempts for &#39;alice&#39; or from your address" in text
        assert "Try again in 15 minutes." in text
        assert SESSION_COOKIE not in attacker.cookies
    with TestClient(app, client=("203.0.113.5", 1)) as elsewhere:
        assert _post_login(elsewhere, "alice", PASSWORD)[0] == 303


class SlowPasswords(Passwords):
    """argon2 at a low cost, but each verification takes a while (as the real 64 MiB one does)
    and is counted: parallel sign-ins overlap the way they do in production."""

    def __init__(self, seconds: float = 0.3) -> None:
        super().__init__(PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
        self.seconds, self.verified = seconds, 0
        self._count = threading.Lock()

    def verify(self, hashed: str | None, password: str) -> bool:
        with self._count:
            self.verified += 1
        time.sleep(self.seconds)
        return super().verify(hashed, password)


def _throttled_app(
    settings: Settings, services: Services, passwords: Passwords, **policy: int
) -> tuple[Any, Accounts]:
    accounts = Accounts(services.accounts.engine, Policy(**policy), passwords=passwords)
    return create_app(settings, replace(services, accounts=accounts)), accounts


def test_parallel_guesses_are_counted_before_the_password_is_checked(
    settings: Settings, app_services: Services
) -> None:
    """Issue #15, finding 7: the throttle was checked before the slow verification and the
    failure recorded after it, so 20 guesses sent at once were all verified (not 5)."""
    passwords = SlowPasswords()
    app, accounts = _throttled_app(settings, app_services, passwords)
    add_user(accounts, "alice")
    with TestClient(app, client=("198.51.100.7", 1)) as attacker:
        token = _login_form(attacker)
        form = {"username": "alice", "csrf_token": token}

        def guess(n: int) -> int:
            data = form | {"password": f"guess {n}"}
            return attacker.post("/login", data=data, follow_redirects=False).status_code

        with ThreadPoolExecutor(max_workers=20) as pool:
            statuses = sorted(pool.map(guess, range(20)))
    assert statuses == [401] * 5 + [429] * 15
    assert passwords.verified == 5


def test_unknown_usernames_are_throttled_per_address(
    settings: Settings, app_services: Services
) -> None:
    """Spraying made-up usernames from one address: each cost a (dummy) argon2 verification and
    none was ever refused; now at most DOCENT_LOGIN_MAX_PER_ADDRESS are verified per window."""
    passwords = SlowPasswords(seconds=0)
    app, accounts = _throttled_app(settings, app_services, passwords, login_max_per_address=4)
    add_user(accounts, "alice")
    with TestClient(app, client=("198.51.100.7", 1)) as sprayer:
        statuses = [_post_login(sprayer, f"nobody{n}", "guess")[0] for n in range(6)]
        assert _post_login(sprayer, "alice", PASSWORD)[0] == 429  # the address is throttled
    assert statuses == [401] * 4 + [429] * 2
    assert passwords.verified == 4
    with TestClient(app, client=("203.0.113.5", 1)) as elsewhere:
        assert _post_login(elsewhere, "alice", PASSWORD)[0] == 303


def test_one_username_is_throttled_across_addresses(
    settings: Settings, app_services: Services
) -> None:
    """Guessing one account's password from many addresses: now at most
    DOCENT_LOGIN_MAX_PER_USERNAME attempts per window, whatever the address."""
    app, accounts = _throttled_app(
        settings, app_services, SlowPasswords(seconds=0), login_max_per_username=3
    )
    add_user(accounts, "alice")
    for n in range(3):
        with TestClient(app, client=(f"198.51.100.{n}", 1)) as machine:
            assert _post_login(machine, "alice", "guess")[0] == 401
    with TestClient(app, client=("203.0.113.5", 1)) as another:
        assert _post_login(another, "alice", PASSWORD)[0] == 429


def test_x_forwarded_for_is_believed_only_from_trusted_proxies(
    settings: Settings, app_services: Services
) -> None:
    """Behind a proxy every sign-in came from the proxy's address, so five wrong guesses locked
    `admin` out for everyone; and the header is believed from the configured proxies only."""
    add_user(app_services.accounts, "alice")
    behind = settings.model_copy(update={"trusted_proxies": "127.0.0.1, 10.0.0.0/8"})
    app = create_app(behind, app_services)
    with TestClient(app, client=("127.0.0.1", 1)) as proxy:
        proxy.headers["X-Forwarded-For"] = "127.0.0.1, 198.51.100.7, 10.1.2.3"  # spoofed, real
        assert [_post_login(proxy, "alice", "guess")[0] for _ in range(5)] == [401] * 5
        assert _post_login(proxy, "alice", PASSWORD)[0] == 429  # 198.51.100.7 is throttled
        proxy.headers["X-Forwarded-For"] = "203.0.113.5"  # another visitor through the proxy
        assert _post_login(proxy, "alice", PASSWORD)[0] == 303
    with TestClient(app, client=("192.0.2.9", 1)) as direct:  # not a proxy: header ignored
        for n in range(5):
            direct.headers["X-Forwarded-For"] = f"192.0.2.{100 + n}"
            assert _post_login(direct, "alice", "guess")[0] == 401
        assert _post_login(direct, "alice", PASSWORD)[0] == 429


def test_the_client_address_comes_from_one_helper(settings: Settings) -> None:
    trusted = settings.model_copy(update={"trusted_proxies": "127.0.0.1,10.0.0.0/8"})

    def address(peer: str, forwarded: str | None, with_settings: Settings = trusted) -> str:
        app = SimpleNamespace(state=SimpleNamespace(settings=with_settings))
        headers = [(b"x-forwarded-for", forwarded.encode())] if forwarded is not None else []
        return client_address_of({"client": (peer, 1), "headers": headers, "app": app})

    assert address("127.0.0.1", "198.51.100.7") == "198.51.100.7"
    assert address("127.0.0.1", "1.1.1.1, 198.51.100.7, 10.0.0.2") == "198.51.100.7"
    assert address("127.0.0.1", "10.0.0.3, 10.0.0.2") == "10.0.0.3"  # all proxies: the first
    assert address("127.0.0.1", None) == "unknown"  # a trusted proxy that did not say
    assert address("127.0.0.1", "not an address") == "unknown"
    assert address("192.0.2.9", "127.0.0.1") == "192.0.2.9"  # not a proxy: ignored
    assert address("127.0.0.1", "198.51.100.7", settings) == "127.0.0.1"  # none trusted
    with pytest.raises(ValueError, match="DOCENT_TRUSTED_PROXIES"):
        Settings(trusted_proxies="localhost")


def test_the_login_form_needs_its_csrf_token(client: TestClient, app_services: Services) -> None:
    add_user(app_services.accounts, "alice")
    _login_form(client)
    forged = client.post(
        "/login",
        data={"username": "alice", "password": PASSWORD, "csrf_token": "forged"},
        follow_redirects=False,
    )
    assert forged.status_code == 403
    assert SESSION_COOKIE not in client.cookies


# --- sessions ------------------------------------------------------------------------------------
def test_an_expired_session_must_sign_in_again(
    settings: Settings, app_services: Services, tmp_path: Path, passwords: Passwords
) -> None:
    clock = Clock()
    policy = Policy(session_lifetime=timedelta(hours=1))
    engine = make_engine(f"sqlite:///{tmp_path / 'clocked.db'}")
    accounts = Accounts(engine, policy, passwords=passwords, clock=clock)
    add_user(accounts, "alice")
    with TestClient(create_app(settings, replace(app_services, accounts=accounts))) as client:
        sign_in(client, "alice")
        clock.advance(minutes=59)
        assert client.get("/").status_code == 200
        clock.advance(minutes=2)
        expired = client.get("/", headers={"Accept": "text/html"}, follow_redirects=False)
        assert expired.status_code == 303 and expired.headers["location"].startswith("/login")
    accounts.close()


def test_sign_out_deletes_the_session(client: TestClient, app_services: Services) -> None:
    add_user(app_services.accounts, "alice")
    sign_in(client, "alice")
    token = client.cookies[SESSION_COOKIE]
    response = client.post("/logout", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/login"
    assert SESSION_COOKIE not in client.cookies
    assert app_services.accounts.sessions.get(token) is None
    client.cookies.set(SESSION_COOKIE, token)  # a copy of the old cookie is worthless now
    assert client.get("/").status_code == 401


def test_a_deactivated_user_is_refused_at_once(client: TestClient, app_services: Services) -> None:
    alice = add_user(app_services.accounts, "alice")
    sign_in(client, "alice")
    app_services.accounts.deactivate(alice.id)
    assert client.get("/").status_code == 401
    client.cookies.clear()
    assert _post_login(client, "alice", PASSWORD)[0] == 401


# --- CSRF ----------------------------------------------------------------------------------------
def test_state_changing_requests_without_the_csrf_token_are_refused(
    client: TestClient, app_services: Services, generator: FakeGenerator
) -> None:
    add_user(app_services.accounts, "alice")
    token = sign_in(client, "alice")
    del client.headers[CSRF_HEADER]
    assert client.post("/ask", data={"question": "Remote days?"}).status_code == 403
    refused = client.post("/ask", data={"question": "Remote days?", "csrf_token": "wrong"})
    assert refused.status_code == 403
    assert "CSRF" in refused.json()["detail"]
    assert client.post("/api/v1/ask", json={"question": "Remote days?"}).status_code == 403
    assert client.post("/logout").status_code == 403
    assert generator.calls == []  # nothing was answered
    form = client.post("/ask", data={"question": "Remote days?", "csrf_token": token})
    assert form.status_code == 200  # the hidden form field, as a browser without JS sends it
    header = client.post("/ask", data={"question": "x"}, headers={CSRF_HEADER: token})
    assert header.status_code == 200  # the header, as htmx sends it


def test_pages_carry_the_csrf_token_for_forms_and_htmx(
    client: TestClient, app_services: Services
) -> None:
    add_user(app_services.accounts, "alice")
    token = sign_in(client, "alice")
    page = client.get("/").text
    assert f'hx-headers=\'{{"X-CSRF-Token": "{token}"}}\'' in page
    assert page.count(f'name="csrf_token" value="{token}"') == 2  # the ask and sign-out forms


# --- API tokens ----------------------------------------------------------------------------------
def test_bearer_tokens_answer_without_cookies_or_csrf(
    client: TestClient, app_services: Services, generator: FakeGenerator
) -> None:
    alice = add_user(app_services.accounts, "alice")
    token = app_services.accounts.issue_api_token(alice.id, "script")
    generator.enqueue("Three days [1].")
    response = client.post(
        "/api/v1/ask",
        json={"question": "Remote days?"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200
    assert response.json()["answer"] == "Three days [1]."
    assert SESSION_COOKIE not in client.cookies
    wrong = client.post(
        "/api/v1/ask", json={"question": "x"}, headers={"Authorization": "Bearer dct_nope"}
    )
    assert wrong.status_code == 401
    app_services.accounts.deactivate(alice.id)
    gone = client.post(
        "/api/v1/ask", json={"question": "x"}, headers={"Authorization": f"Bearer {token}"}
    )
    assert gone.status_code == 401


# --- invites -------------------------------------------------------------------------------------
def test_an_invite_link_sets_the_password_once(client: TestClient, app_services: Services) -> None:
    newcomer = app_services.accounts.create_user("newcomer", display_name="New Comer")
    link = f"/invite/{app_services.accounts.invite(newcomer.id)}"
    page = client.get(link)
    assert page.status_code == 200 and "Welcome, New Comer" in page.text
    csrf = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    differ = client.post(
        link, data={"password": "first choice", "confirm": "other", "csrf_token": csrf}
    )
    assert differ.status_code == 400 and "The two passwords differ." in differ.text
    done = client.post(
        link,
        data={"password": "first choice", "confirm": "first choice", "csrf_token": csrf},
        follow_redirects=False,
    )
    assert done.status_code == 303 and done.headers["location"] == "/"
    assert client.get("/").status_code == 200  # signed in
    assert app_services.accounts.authenticate("newcomer", "first choice") is not None
    client.cookies.delete(SESSION_COOKIE)
    again = client.get(link)
    assert again.status_code == 404 and "does not work" in again.text
    reuse = client.post(
        link, data={"password": "hijacked!!", "confirm": "hijacked!!", "csrf_token": csrf}
    )
    assert reuse.status_code == 404
    assert app_services.accounts.authenticate("newcomer", "hijacked!!") is None


# --- who sees what -------------------------------------------------------------------------------
def _ingest_grouped(services: Services, folder: Path) -> None:
    from ingest.pipeline import ingest_paths

    docs = {
        "hr": ("salaries.md", "# Salaries\n\nThe salary review happens every March for staff.\n"),
        "finance": ("budget.md", "# Budget\n\nThe salary budget for staff is set every March.\n"),
    }
    for group, (name, text) in docs.items():
        path = folder / group / name
        path.parent.mkdir()
        path.write_text(text)
        options = replace(services.ingest_options, groups=(group,))
        ingest_paths(
            [path],
            embedder=services.embedder,
            store=services.store,
            catalog=services.catalog,
            options=options,
        )


@pytest.mark.parametrize(
    ("role", "groups", "expected"),
    [
        ("member", ("hr",), {"remote.md", "salaries.md"}),
        ("member", ("finance",), {"remote.md", "budget.md"}),
        ("member", (), {"remote.md"}),
        ("admin", (), {"remote.md", "salaries.md", "budget.md"}),
    ],
)
def test_answers_only_see_the_users_groups_documents(
    settings: Settings,
    app_services: Services,
    generator: FakeGenerator,
    tmp_path: Path,
    role: str,
    groups: tuple[str, ...],
    expected: set[str],
) -> None:
    _ingest_grouped(app_services, tmp_path)
    add_user(app_services.accounts, "asker", role=role, groups=groups)
    question = "When is the salary review for staff every March? Remote work days?"
    with TestClient(create_app(settings, app_services)) as client:
        sign_in(client, "asker")
        data = client.post("/api/v1/ask", json={"question": question}).json()
        page = client.post("/ask", data={"question": question}).text
        with client.stream("GET", "/ask/stream", params={"q": question}) as stream:
            streamed = "".join(stream.iter_text())
    seen = {Path(p["source"]).name for p in data["passages"]}
    assert seen == expected
    hidden = {"salaries.md", "budget.md"} - expected
    prompts = " ".join(m.content for call in generator.calls for m in call)
    for name in hidden:
        assert name not in page and name not in streamed
    if "salaries.md" in hidden:
        assert "salary review happens" not in prompts
    if "budget.md" in hidden:
        assert "salary budget" not in prompts
