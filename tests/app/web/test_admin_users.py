"""Users and groups in the admin console: create, invite, reset, deactivate, membership."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from app.accounts import Accounts
from app.services import Services
from app.settings import Settings
from app.web import create_app
from tests.app import admining
from tests.app.signin import sign_in

admin, admin_settings, admin_services = (
    admining.admin,
    admining.admin_settings,
    admining.admin_services,
)


def _secret(page: str) -> str:
    return re.findall(r'<p class="secret">(?:<a href="[^"]+">|<code>)([^<]+)<', page)[0]


def _actions(accounts: Accounts) -> list[tuple[str, str, str]]:
    return [(e.actor, e.action, e.target) for e in reversed(accounts.audit_entries())]


def test_create_with_an_invite_link_shown_once_that_works_once(
    admin: TestClient, admin_services: Services, admin_settings: Settings
) -> None:
    response = admin.post(
        "/admin/users",
        data={
            "username": "Mia",
            "display_name": "Mia Rossi",
            "role": "member",
            "groups": [],
            "new_groups": "finance, hr",
            "method": "invite",
        },
    )
    assert response.status_code == 200 and response.headers["cache-control"] == "no-store"
    link = _secret(response.text)
    assert link.startswith("http://testserver/invite/")
    mia = admin_services.accounts.find_user("mia")
    assert mia is not None and mia.groups == {"finance", "hr"} and mia.role == "member"
    assert admin_services.accounts.authenticate("mia", "anything at all") is None
    with TestClient(create_app(admin_settings, admin_services)) as browser:
        form = browser.get(link.removeprefix("http://testserver"))
        token = form.text.split('name="csrf_token" value="')[1].split('"')[0]
        path = link.removeprefix("http://testserver")
        data = {"password": "mia's new password", "confirm": "mia's new password"}
        accepted = browser.post(path, data=data | {"csrf_token": token}, follow_redirects=False)
        assert accepted.status_code == 303
        again = browser.post(path, data=data | {"csrf_token": token}, follow_redirects=False)
        assert again.status_code != 303  # used up
    assert admin_services.accounts.authenticate("mia", "mia's new password") is not None
    assert link not in admin.get(f"/admin/users/{mia.id}").text  # not shown again
    assert ("boss", "add-user", "mia") in _actions(admin_services.accounts)


def test_create_with_an_initial_password(admin: TestClient, admin_services: Services) -> None:
    response = admin.post(
        "/admin/users", data={"username": "ops", "role": "admin", "method": "password"}
    )
    password = _secret(response.text)
    user = admin_services.accounts.authenticate("ops", password)
    assert user is not None and user.is_admin


def test_a_bad_or_taken_username_is_refused_with_the_form_kept(
    admin: TestClient, admin_services: Services
) -> None:
    taken = admin.post("/admin/users", data={"username": "boss", "display_name": "Other"})
    assert taken.status_code == 422 and "already exists" in taken.text
    assert 'value="Other"' in taken.text
    bad = admin.post("/admin/users", data={"username": "no spaces please"})
    assert bad.status_code == 422 and "invalid username" in bad.text
    role = admin.post("/admin/users", data={"username": "x", "role": "owner"})
    assert role.status_code == 422 and "unknown role" in role.text
    assert [u.username for u in admin_services.accounts.list_users()] == ["boss"]


def test_reset_password_ends_sessions_and_shows_the_new_one_once(
    admin: TestClient, admin_services: Services, admin_settings: Settings
) -> None:
    mia = admin_services.accounts.create_user("mia", password="first password")
    with TestClient(create_app(admin_settings, admin_services)) as browser:
        sign_in(browser, "mia", "first password")
        response = admin.post(f"/admin/users/{mia.id}/password")
        new = _secret(response.text)
        assert browser.get("/", follow_redirects=False).status_code == 401  # signed out
    assert admin_services.accounts.authenticate("mia", new) is not None
    assert admin_services.accounts.authenticate("mia", "first password") is None
    assert ("boss", "reset-password", "mia") in _actions(admin_services.accounts)


def test_deactivate_and_activate(admin: TestClient, admin_services: Services) -> None:
    mia = admin_services.accounts.create_user("mia", password="first password")
    token = admin_services.accounts.issue_api_token(mia.id, "t")
    response = admin.post(f"/admin/users/{mia.id}/deactivate", follow_redirects=False)
    assert response.status_code == 303
    assert admin_services.accounts.user_for_token(token) is None
    assert admin_services.accounts.authenticate("mia", "first password") is None
    page = admin.get(response.headers["location"]).text
    assert "mia is deactivated" in page
    admin.post(f"/admin/users/{mia.id}/activate")
    assert admin_services.accounts.authenticate("mia", "first password") is not None
    assert _actions(admin_services.accounts)[-2:] == [
        ("boss", "deactivate", "mia"),
        ("boss", "activate", "mia"),
    ]


def test_api_tokens_are_revoked_from_the_console(
    admin: TestClient, admin_services: Services
) -> None:
    """Issue #15, finding 5: the console listed API tokens but could not revoke them."""
    accounts = admin_services.accounts
    mia = accounts.create_user("mia", password="first password")
    laptop = accounts.issue_api_token(mia.id, "laptop")
    ci = accounts.issue_api_token(mia.id, "ci")
    page = admin.get(f"/admin/users/{mia.id}").text
    ids = [int(n) for n in re.findall(rf"/admin/users/{mia.id}/tokens/(\d+)/revoke", page)]
    assert len(ids) == 2 and "Expires" in page
    response = admin.post(f"/admin/users/{mia.id}/tokens/{ids[0]}/revoke", follow_redirects=False)
    assert response.status_code == 303
    assert accounts.user_for_token(laptop) is None and accounts.user_for_token(ci) is not None
    assert "API token of mia revoked" in admin.get(response.headers["location"]).text
    assert admin.post(f"/admin/users/{mia.id}/tokens/{ids[0]}/revoke").status_code == 404
    admin.post(f"/admin/users/{mia.id}/tokens/revoke")
    assert accounts.user_for_token(ci) is None
    assert _actions(accounts)[-2:] == [("boss", "revoke-token", "mia")] * 2


def test_reset_password_offers_to_revoke_the_api_tokens(
    admin: TestClient, admin_services: Services
) -> None:
    accounts = admin_services.accounts
    mia = accounts.create_user("mia", password="first password")
    token = accounts.issue_api_token(mia.id, "laptop")
    page = admin.get(f"/admin/users/{mia.id}").text
    assert re.search(r'name="revoke_tokens" value="true" checked', page)  # ticked by default
    admin.post(f"/admin/users/{mia.id}/password")  # the box unticked: the field is not sent
    assert accounts.user_for_token(token) is not None
    admin.post(f"/admin/users/{mia.id}/password", data={"revoke_tokens": "true"})
    assert accounts.user_for_token(token) is None


def test_an_admin_cannot_lock_themselves_out(admin: TestClient, admin_services: Services) -> None:
    me = admin_services.accounts.find_user("boss")
    assert me is not None
    assert admin.post(f"/admin/users/{me.id}/deactivate").status_code == 409
    assert admin.post(f"/admin/users/{me.id}", data={"role": "member"}).status_code == 409
    me_after = admin_services.accounts.find_user("boss")
    assert me_after is not None and me_after.active and me_after.is_admin


def test_membership_role_and_name_are_edited_in_one_form(
    admin: TestClient, admin_services: Services
) -> None:
    mia = admin_services.accounts.create_user("mia", password="first password", groups=["hr"])
    response = admin.post(
        f"/admin/users/{mia.id}",
        data={"display_name": "Mia R.", "role": "admin", "groups": ["sales"], "new_groups": "it"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    after = admin_services.accounts.get_user(mia.id)
    assert after is not None
    assert (after.display_name, after.role, after.groups) == ("Mia R.", "admin", {"sales", "it"})
    page = admin.get(f"/admin/users/{mia.id}").text
    assert 'value="sales" checked' in page and 'value="hr">' in page


def test_groups_are_created_and_listed(admin: TestClient, admin_services: Services) -> None:
    response = admin.post("/admin/groups", data={"name": "legal"}, follow_redirects=False)
    assert response.status_code == 303
    assert "legal" in admin_services.accounts.list_groups()
    assert "legal" in admin.get("/admin/users").text
    bad = admin.post("/admin/groups", data={"name": "<script>"})
    assert bad.status_code == 422 and "invalid group name" in bad.text
    assert ("boss", "add-group", "legal") in _actions(admin_services.accounts)


def test_reinvite_replaces_the_earlier_link(admin: TestClient, admin_services: Services) -> None:
    created = admin.post("/admin/users", data={"username": "mia", "method": "invite"})
    first = _secret(created.text).rsplit("/", 1)[1]
    mia = admin_services.accounts.find_user("mia")
    assert mia is not None
    second = _secret(admin.post(f"/admin/users/{mia.id}/invite").text).rsplit("/", 1)[1]
    assert admin_services.accounts.invited_user(first) is None
    assert admin_services.accounts.invited_user(second) == mia
