"""Users and groups: create, invite, reset a password, deactivate; roles and group membership;
API tokens listed (last use, expiry) and revoked.

A new password or invite link is shown once, on the page answering the form (never put in a
URL, never stored in plaintext); `Cache-Control: no-store` keeps it out of the browser's cache.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, Response

from app.accounts import AccountError, Accounts, User
from app.accounts.credentials import generate_password
from app.documents.library import parse_groups
from app.web.admin.common import page, redirect
from app.web.auth import AdminUser, CsrfChecked, accounts_of

router = APIRouter()
Name = Annotated[str, Form(max_length=200)]
GroupList = Annotated[list[str], Form(max_length=200)]
Method = Literal["invite", "password"]


def user_or_404(accounts: Accounts, user_id: int) -> User:
    user = accounts.get_user(user_id)
    if user is None:
        raise HTTPException(404, f"No user with id {user_id}.")
    return user


def invite_link(request: Request, token: str) -> str:
    return str(request.base_url).rstrip("/") + f"/invite/{token}"


def _users_page(request: Request, status_code: int = 200, **context: object) -> HTMLResponse:
    accounts = accounts_of(request)
    users = accounts.list_users()
    members = {g: sum(g in u.groups for u in users) for g in accounts.list_groups()}
    return page(
        request,
        "admin/users.html",
        "users",
        status_code,
        users=users,
        groups=members,
        **context,
    )


def _secret_page(request: Request, subject: User, what: str, secret: str, link: bool) -> Response:
    return page(
        request, "admin/secret.html", "users", subject=subject, what=what, secret=secret, link=link
    )


@router.get("/users", response_class=HTMLResponse)
def users(request: Request, user: AdminUser) -> HTMLResponse:
    return _users_page(request)


@router.post("/users", dependencies=[CsrfChecked])
def create_user(
    request: Request,
    user: AdminUser,
    username: Annotated[str, Form(max_length=64)],
    display_name: Name = "",
    role: Annotated[str, Form(max_length=16)] = "member",
    groups: GroupList = [],  # noqa: B006 - FastAPI copies it
    new_groups: Annotated[str, Form(max_length=1000)] = "",
    method: Annotated[Method, Form()] = "invite",
) -> Response:
    """Create an account; answer with its invite link or its initial password, shown once."""
    accounts = accounts_of(request)
    password = generate_password() if method == "password" else None
    try:
        chosen = parse_groups([*groups, new_groups])
        created = accounts.create_user(
            username, password=password, role=role, display_name=display_name, groups=chosen
        )
    except AccountError as exc:
        form = {"username": username, "display_name": display_name, "role": role}
        return _users_page(request, 422, error=str(exc), form=form)
    detail = f"role {created.role}; groups: {', '.join(sorted(created.groups)) or '(none)'}"
    accounts.audit(user, "add-user", created.username, f"{detail}; {method}")
    if password is not None:
        return _secret_page(request, created, "initial password", password, link=False)
    link = invite_link(request, accounts.invite(created.id))
    return _secret_page(request, created, "invite link", link, link=True)


@router.get("/users/{user_id}", response_class=HTMLResponse)
def user_page(request: Request, user: AdminUser, user_id: int) -> HTMLResponse:
    accounts = accounts_of(request)
    subject = user_or_404(accounts, user_id)
    return page(
        request,
        "admin/user.html",
        "users",
        subject=subject,
        groups=sorted(set(accounts.list_groups()) | subject.groups),
        tokens=accounts.list_api_tokens(subject.id),
        now=accounts.clock(),
        myself=subject.id == user.id,
    )


@router.post("/users/{user_id}", dependencies=[CsrfChecked])
def edit_user(
    request: Request,
    user: AdminUser,
    user_id: int,
    display_name: Name = "",
    role: Annotated[str, Form(max_length=16)] = "member",
    groups: GroupList = [],  # noqa: B006 - FastAPI copies it
    new_groups: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    """Name, role and group membership in one form (the groups listed are the new set)."""
    accounts = accounts_of(request)
    subject = user_or_404(accounts, user_id)
    if subject.id == user.id and role != "admin":
        raise HTTPException(409, "You cannot take away your own admin role; ask another admin.")
    try:
        chosen = set(parse_groups([*groups, new_groups]))
        accounts.set_role(subject.id, role)
    except AccountError as exc:
        raise HTTPException(422, str(exc)) from exc
    accounts.set_display_name(subject.id, display_name)
    for group in sorted(chosen - subject.groups):
        accounts.add_to_group(subject.id, group)
    for group in sorted(subject.groups - chosen):
        accounts.remove_from_group(subject.id, group)
    detail = f"role {role}; groups: {', '.join(sorted(chosen)) or '(none)'}"
    accounts.audit(user, "edit-user", subject.username, detail)
    return redirect(f"/admin/users/{subject.id}", "user-saved", subject.username)


@router.post("/users/{user_id}/password", dependencies=[CsrfChecked])
def reset_password(
    request: Request,
    user: AdminUser,
    user_id: int,
    revoke_tokens: Annotated[bool, Form()] = False,  # the form's checkbox is ticked by default
) -> Response:
    """A new generated password, shown once; the user's sessions and pending invites end, and
    their API tokens are revoked when the form says so."""
    accounts = accounts_of(request)
    subject = user_or_404(accounts, user_id)
    password = generate_password()
    revoked = accounts.set_password(subject.id, password, revoke_tokens=revoke_tokens)
    tokens = f"{revoked} API tokens revoked" if revoke_tokens else "API tokens kept"
    accounts.audit(user, "reset-password", subject.username, f"new password generated; {tokens}")
    return _secret_page(request, subject, "new password", password, link=False)


@router.post("/users/{user_id}/tokens/{token_id}/revoke", dependencies=[CsrfChecked])
def revoke_token(request: Request, user: AdminUser, user_id: int, token_id: int) -> Response:
    """The token stops working at once."""
    accounts = accounts_of(request)
    subject = user_or_404(accounts, user_id)
    if not accounts.revoke_api_token(token_id, subject.id):
        raise HTTPException(404, f"{subject.username} has no API token with id {token_id}.")
    accounts.audit(user, "revoke-token", subject.username, f"token {token_id}")
    return redirect(f"/admin/users/{subject.id}", "token-revoked", subject.username)


@router.post("/users/{user_id}/tokens/revoke", dependencies=[CsrfChecked])
def revoke_tokens(request: Request, user: AdminUser, user_id: int) -> Response:
    """Every API token of the user stops working at once."""
    accounts = accounts_of(request)
    subject = user_or_404(accounts, user_id)
    count = accounts.revoke_api_tokens(subject.id)
    accounts.audit(user, "revoke-token", subject.username, f"all ({count})")
    return redirect(f"/admin/users/{subject.id}", "tokens-revoked", subject.username)


@router.post("/users/{user_id}/invite", dependencies=[CsrfChecked])
def reinvite(request: Request, user: AdminUser, user_id: int) -> Response:
    """A new one-time link to choose a password (earlier links stop working)."""
    accounts = accounts_of(request)
    subject = user_or_404(accounts, user_id)
    if not subject.active:
        raise HTTPException(409, f"{subject.username} is deactivated: activate them first.")
    link = invite_link(request, accounts.invite(subject.id))
    accounts.audit(user, "invite", subject.username, "new invite link")
    return _secret_page(request, subject, "invite link", link, link=True)


@router.post("/users/{user_id}/deactivate", dependencies=[CsrfChecked])
def deactivate(request: Request, user: AdminUser, user_id: int) -> Response:
    accounts = accounts_of(request)
    subject = user_or_404(accounts, user_id)
    if subject.id == user.id:
        raise HTTPException(409, "You cannot deactivate yourself; ask another admin.")
    accounts.deactivate(subject.id)
    accounts.audit(user, "deactivate", subject.username)
    return redirect(f"/admin/users/{subject.id}", "deactivated", subject.username)


@router.post("/users/{user_id}/activate", dependencies=[CsrfChecked])
def activate(request: Request, user: AdminUser, user_id: int) -> Response:
    accounts = accounts_of(request)
    subject = user_or_404(accounts, user_id)
    accounts.activate(subject.id)
    accounts.audit(user, "activate", subject.username)
    return redirect(f"/admin/users/{subject.id}", "activated", subject.username)


@router.post("/groups", dependencies=[CsrfChecked])
def create_group(
    request: Request, user: AdminUser, name: Annotated[str, Form(max_length=100)]
) -> Response:
    accounts = accounts_of(request)
    try:
        created = accounts.create_group(name)
    except AccountError as exc:
        return _users_page(request, 422, group_error=str(exc))
    accounts.audit(user, "add-group", created)
    return redirect("/admin/users", "group-added", created)
