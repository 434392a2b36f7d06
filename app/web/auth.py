"""Who is asking, and may they: the only way routes learn the user.

Every route declares a policy through one of these dependencies (a test enumerates the routes):

- `user: CurrentUser` — signed in by the session cookie (pages) or `Authorization: Bearer <API
  token>`. Anonymous page requests are redirected to /login?next=…; API and htmx requests get 401.
- `user: AdminUser` — as CurrentUser; members get 403.
- `dependencies=[Public]` — open to everyone (sign-in page, /healthz).
- `dependencies=[OperatorOnly]` — loopback plus the operator token in the data dir (CLI ingestion);
  a request relayed by a proxy (a forwarding header) is not loopback.
- `dependencies=[CsrfChecked]` — on every state-changing route a browser can reach: the session's
  CSRF token must come back as form field `csrf_token` or header `X-CSRF-Token` (base.html puts
  it in `hx-headers`); requests authenticated by an API token are exempt (they carry no cookie).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import quote, urlsplit

from fastapi import Depends, FastAPI, HTTPException, Request, Response
from fastapi.dependencies.models import Dependant
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.routing import APIRoute

from app.accounts import Accounts, User
from app.accounts.operator_token import token_matches
from app.accounts.sessions import Session
from app.web.client import is_direct_local

SESSION_COOKIE = "docent_session"
FORM_CSRF_COOKIE = "docent_form_csrf"  # double-submit token for forms shown before sign-in
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
CSRF_REFUSED = (
    "This form has expired or did not come from docent (missing or wrong CSRF token): "
    "reload the page and try again."
)


class SignInRequired(Exception):
    """Raised by the dependencies for an anonymous request; answered by `_sign_in_required`."""


def accounts_of(request: Request) -> Accounts:
    accounts: Accounts = request.app.state.services.accounts
    return accounts


def _identify(request: Request) -> User | None:
    """The user behind the request's bearer token or session cookie (cached on request.state)."""
    if hasattr(request.state, "user"):
        user: User | None = request.state.user
        return user
    request.state.user, request.state.session, request.state.auth_via = None, None, None
    accounts = accounts_of(request)
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        request.state.user = accounts.user_for_token(header[7:].strip())
        request.state.auth_via = "token"
    elif cookie := request.cookies.get(SESSION_COOKIE):
        session = accounts.sessions.get(cookie)
        user = accounts.get_user(session.user_id) if session else None
        if session and user and user.active:
            request.state.user, request.state.session = user, session
            request.state.csrf_token = session.csrf_token
            request.state.auth_via = "session"
    found: User | None = request.state.user
    return found


def signed_in_user(request: Request) -> User | None:
    """The user if the request is signed in, else None (for public pages that greet users)."""
    return _identify(request)


def current_user(request: Request) -> User:
    user = _identify(request)
    if user is None:
        raise SignInRequired()
    return user


CurrentUser = Annotated[User, Depends(current_user)]


def admin_user(user: CurrentUser) -> User:
    if not user.is_admin:
        raise HTTPException(403, "This page is for administrators.")
    return user


AdminUser = Annotated[User, Depends(admin_user)]


def public() -> None:
    """Declares a route open to everyone (no sign-in)."""


Public = Depends(public)


def is_operator(request: Request) -> bool:
    """A direct loopback request carrying the operator token from the data dir (CLI
    ingestion)."""
    header = request.headers.get("Authorization", "")
    given = header.removeprefix("Bearer ") if header.startswith("Bearer ") else None
    return is_direct_local(request) and token_matches(request.app.state.operator_token, given)


def operator_only(request: Request) -> None:
    """Loopback requests carrying the operator token from the data dir (CLI ingestion)."""
    if not is_operator(request):
        raise HTTPException(403, "ingestion through the server is for operators on this machine")


OperatorOnly = Depends(operator_only)


async def check_csrf(request: Request, user: CurrentUser) -> None:
    """A session's state-changing request must echo the session's CSRF token."""
    if request.state.auth_via == "token":
        return
    session: Session = request.state.session
    if not _same(session.csrf_token, await _given_csrf(request)):
        raise HTTPException(403, CSRF_REFUSED)


CsrfChecked = Depends(check_csrf)
SAME_ORIGIN_FETCHES = ("same-origin", "none")  # `none`: the user typed or bookmarked the address


def same_origin(request: Request) -> bool:
    """A GET that spends something (an answer) came from docent itself: an API token, the
    browser saying so (`Sec-Fetch-Site`), or the session's CSRF token as `X-CSRF-Token` or
    `csrf_token` in the query. A link on another site (a top-level GET carries the Lax cookie)
    is none of these."""
    if _identify(request) is None or request.state.auth_via == "token":
        return True
    if request.headers.get("Sec-Fetch-Site") in SAME_ORIGIN_FETCHES:
        return True
    given = request.headers.get(CSRF_HEADER) or request.query_params.get(CSRF_FIELD)
    return _same(request.state.session.csrf_token, given)


async def _given_csrf(request: Request) -> str | None:
    if header := request.headers.get(CSRF_HEADER):
        return header
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        value = (await request.form()).get(CSRF_FIELD)
        return value if isinstance(value, str) else None
    return None


def _same(expected: str | None, given: str | None) -> bool:
    return bool(expected and given) and secrets.compare_digest(str(expected), str(given))


# --- signing in and out -------------------------------------------------------------------------
def sign_in(request: Request, response: Response, user: User) -> Session:
    """Start a session for `user` and put its token in an HttpOnly, SameSite=Lax cookie."""
    accounts = accounts_of(request)
    session = accounts.sessions.start(user.id)
    response.set_cookie(
        SESSION_COOKIE,
        session.token,
        max_age=int(accounts.policy.session_lifetime.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=_secure(request),
        path="/",
    )
    return session


def sign_out(request: Request, response: Response) -> None:
    """End the request's session (its row is deleted) and clear the cookie."""
    if cookie := request.cookies.get(SESSION_COOKIE):
        accounts_of(request).sessions.end(cookie)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax")


def _secure(request: Request) -> bool:
    return request.url.scheme == "https" or bool(request.app.state.settings.cookie_secure)


def form_csrf_token(request: Request) -> str:
    """The token for a form shown before sign-in (login, invite): the cookie's, or a new one."""
    return request.cookies.get(FORM_CSRF_COOKIE) or secrets.token_urlsafe(32)


def set_form_csrf_cookie(request: Request, response: Response, token: str) -> None:
    response.set_cookie(
        FORM_CSRF_COOKIE, token, httponly=True, samesite="lax", secure=_secure(request), path="/"
    )


def form_csrf_ok(request: Request, given: str | None) -> bool:
    """Double-submit check: the form's token equals the cookie's."""
    return _same(request.cookies.get(FORM_CSRF_COOKIE), given)


def safe_next(target: str | None) -> str:
    """A local path to go to after sign-in; anything else (other sites, `//host`) becomes /."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return "/"
    if any(ord(c) < 32 for c in target) or urlsplit(target).netloc:
        return "/"
    return target


# --- answering anonymous requests ---------------------------------------------------------------
def _wants_page(request: Request) -> bool:
    htmx = request.headers.get("HX-Request") == "true"
    return not htmx and "text/html" in request.headers.get("accept", "")


def _sign_in_required(request: Request, exc: Exception) -> Response:
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if _wants_page(request):
        back = here if request.method == "GET" else "/"
        return RedirectResponse(f"/login?next={quote(back)}", status_code=303)
    headers = {"WWW-Authenticate": "Bearer"}
    if request.headers.get("HX-Request") == "true":
        page = urlsplit(request.headers.get("HX-Current-URL", "/")).path or "/"
        headers["HX-Redirect"] = f"/login?next={quote(page)}"
    detail = "Sign in first, or send an API token as `Authorization: Bearer <token>`."
    return JSONResponse({"detail": detail}, status_code=401, headers=headers)


def install(app: FastAPI) -> None:
    """Answer SignInRequired: pages are redirected to /login, API and htmx requests get 401."""
    app.add_exception_handler(SignInRequired, _sign_in_required)


# --- route policies (for the test that enumerates every route) ----------------------------------
POLICIES: dict[Callable[..., Any], str] = {
    public: "public",
    current_user: "signed-in",
    admin_user: "admin",
    operator_only: "operator",
}


def route_policies(route: APIRoute | Any) -> set[str]:
    """The policies a route declares anywhere in its dependency tree; and "csrf" if checked.

    `route`: an APIRoute, or FastAPI's route context for a route of an included router.
    """
    found: set[str] = set()
    dependant: Dependant | None = route.dependant
    pending = list(dependant.dependencies) if dependant else []
    while pending:
        dependant = pending.pop()
        if dependant.call in POLICIES:
            found.add(POLICIES[dependant.call])
        if dependant.call is check_csrf:
            found.add("csrf")
        pending.extend(dependant.dependencies)
    return found
