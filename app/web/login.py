"""Sign in, sign out, and set a password from a one-time invite link."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from app.web.auth import (
    CsrfChecked,
    CurrentUser,
    Public,
    accounts_of,
    form_csrf_ok,
    form_csrf_token,
    safe_next,
    set_form_csrf_cookie,
    sign_in,
    sign_out,
    signed_in_user,
)
from app.web.client import client_address
from app.web.deps import templates

router = APIRouter()
FormText = Annotated[str, Form(max_length=2048)]
OptionalText = Annotated[str, Form(max_length=2048)]
WRONG_LOGIN = "Wrong username or password."


@router.get("/login", response_class=HTMLResponse, dependencies=[Public])
def login_page(request: Request, next: str = "/") -> Response:
    if signed_in_user(request) is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return _login_form(request, safe_next(next))


@router.post("/login", response_class=HTMLResponse, dependencies=[Public])
def login(
    request: Request,
    username: FormText,
    password: FormText,
    csrf_token: OptionalText = "",
    next: OptionalText = "/",
) -> Response:
    """Check the form token, count the attempt (refused over the limits), then the password; a
    session cookie on success.

    The attempt is counted before the (slow) password check, so parallel attempts cannot all
    pass the throttle; unknown usernames are counted and verified against a dummy hash alike.
    """
    target, name = safe_next(next), username.strip().lower()
    if not form_csrf_ok(request, csrf_token):
        return _login_form(request, target, name, "The form expired: please sign in again.", 403)
    accounts, ip = accounts_of(request), client_address(request)
    if wait := accounts.throttle.attempt(name, ip):
        minutes = max(1, round(wait / 60))
        message = (
            f"Too many sign-in attempts for {name!r} or from your address. "
            f"Try again in {minutes} minute{'s' if minutes != 1 else ''}."
        )
        return _login_form(request, target, name, message, 429, {"Retry-After": str(wait)})
    user = accounts.authenticate(name, password)
    if user is None:
        return _login_form(request, target, name, WRONG_LOGIN, 401)
    accounts.throttle.succeeded(name, ip)
    response = RedirectResponse(target, status_code=303)
    sign_in(request, response, user)
    return response


@router.post("/logout", dependencies=[CsrfChecked])
def logout(request: Request, user: CurrentUser) -> Response:
    response = RedirectResponse("/login", status_code=303)
    sign_out(request, response)
    return response


@router.get("/invite/{token}", response_class=HTMLResponse, dependencies=[Public])
def invite_page(request: Request, token: str) -> Response:
    return _invite_form(request, token)


@router.post("/invite/{token}", response_class=HTMLResponse, dependencies=[Public])
def accept_invite(
    request: Request,
    token: str,
    password: FormText,
    confirm: FormText,
    csrf_token: OptionalText = "",
) -> Response:
    """Set the password, use the invite up, and sign the user in."""
    if not form_csrf_ok(request, csrf_token):
        return _invite_form(request, token, "The form expired: please try again.", 403)
    if password != confirm:
        return _invite_form(request, token, "The two passwords differ.", 400)
    try:
        user = accounts_of(request).accept_invite(token, password)
    except ValueError as exc:
        return _invite_form(request, token, f"Choose another password: {exc}.", 400)
    if user is None:
        return _invite_form(request, token)
    accounts_of(request).audit(user, "accept-invite", user.username)
    response = RedirectResponse("/", status_code=303)
    sign_in(request, response, user)
    return response


def _login_form(
    request: Request,
    target: str,
    username: str = "",
    error: str | None = None,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    token = form_csrf_token(request)
    request.state.csrf_token = token
    context = {"next": target, "username": username, "error": error}
    response = templates.TemplateResponse(request, "login.html", context, status, headers)
    set_form_csrf_cookie(request, response, token)
    return response


def _invite_form(
    request: Request, token: str, error: str | None = None, status: int = 200
) -> Response:
    """The set-password form, or a clear page when the link is unknown, expired or used."""
    invited = accounts_of(request).invited_user(token)
    form_token = form_csrf_token(request)
    request.state.csrf_token = form_token
    context = {"invited": invited, "token": token, "error": error}
    response = templates.TemplateResponse(
        request, "invite.html", context, status if invited else 404
    )
    set_form_csrf_cookie(request, response, form_token)
    return response
