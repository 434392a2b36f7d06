"""Every route declares who may use it, and the app enforces it.

The test walks ALL routes of create_app(...): a new route without a policy (CurrentUser,
AdminUser, Public, OperatorOnly, or one listed below) fails it; so does a public route missing
from the allow-list, or a state-changing signed-in route without CsrfChecked. Then it asks every
route anonymously (401 or a redirect to /login) and every admin route as a member (403).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from app.services import Services
from app.web.auth import AdminUser, CsrfChecked, CurrentUser, Public, route_policies
from tests.app.signin import add_user, sign_in

PUBLIC_ROUTES = {
    ("GET", "/login"),
    ("POST", "/login"),
    ("GET", "/invite/{token}"),
    ("POST", "/invite/{token}"),
    ("GET", "/healthz"),
}
OPERATOR_ROUTES = {("POST", "/api/v1/ingest")}  # loopback + the operator token in the data dir
# Routes with their own guard, by the guard's name: /metrics is for loopback clients and admins
# unless DOCENT_METRICS_PUBLIC (app/web/metrics_api.py).
OWN_GUARD_ROUTES = {("GET", "/metrics"): "metrics_reader"}
# Not APIRoutes: static files and FastAPI's OpenAPI pages (documentation, no data).
FRAMEWORK_PATHS = {"/static", "/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"}
STATE_CHANGING = {"POST", "PUT", "PATCH", "DELETE"}


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    policy: str  # public, signed-in, admin, operator, own-guard

    @property
    def url(self) -> str:
        return re.sub(r"\{[^}]+\}", "1", self.path)


def all_routes(app: FastAPI) -> list[Any]:
    """Every route, those of included routers too (newer FastAPI keeps them apart)."""
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # older FastAPI: app.routes is already flat
        return list(app.routes)
    return list(iter_route_contexts(app.routes))


def endpoints(app: FastAPI) -> tuple[list[Endpoint], list[str]]:
    """(every method+route with its policy, problems found)."""
    found, problems = [], []
    for route in all_routes(app):
        original = getattr(route, "original_route", route)
        if not isinstance(original, APIRoute):
            path = getattr(route, "path", None) or repr(route)
            if path not in FRAMEWORK_PATHS:
                problems.append(f"{path}: not an API route and not allow-listed")
            continue
        declared = route_policies(route)
        guards = {getattr(d.call, "__name__", "") for d in route.dependant.dependencies}
        for method in sorted(route.methods):
            key = (method, route.path)
            policy = _policy(key, declared, guards)
            if policy is None:
                problems.append(f"{method} {route.path}: declares no access policy")
                continue
            if policy == "public" and key not in PUBLIC_ROUTES:
                problems.append(f"{method} {route.path}: public but not in PUBLIC_ROUTES")
            if policy == "operator" and key not in OPERATOR_ROUTES:
                problems.append(f"{method} {route.path}: operator-only but not listed")
            unchecked = method in STATE_CHANGING and "csrf" not in declared
            if policy in {"signed-in", "admin"} and unchecked:
                problems.append(f"{method} {route.path}: changes state without CsrfChecked")
            found.append(Endpoint(method, route.path, policy))
    return found, problems


def _policy(key: tuple[str, str], declared: set[str], guards: set[str]) -> str | None:
    if OWN_GUARD_ROUTES.get(key) in guards:
        return "own-guard"
    for policy in ("admin", "signed-in", "operator", "public"):  # the strictest wins
        if policy in declared:
            return policy
    return None


def test_every_route_declares_a_policy(app: FastAPI) -> None:
    found, problems = endpoints(app)
    assert problems == []
    paths = {(e.method, e.path) for e in found}
    assert paths >= PUBLIC_ROUTES | OPERATOR_ROUTES
    assert {("GET", "/"), ("POST", "/ask"), ("POST", "/api/v1/ask")} <= paths


def test_an_undeclared_route_is_caught() -> None:
    """The check above can fail: routes without a policy, or with a loose one, are reported."""
    router = APIRouter()

    @router.get("/forgotten")
    def forgotten() -> dict[str, str]:
        return {}

    @router.get("/open", dependencies=[Public])
    def open_route() -> dict[str, str]:
        return {}

    @router.post("/change")
    def change(user: CurrentUser) -> dict[str, str]:
        return {}

    @router.get("/admin-only")
    def admin_only(user: AdminUser) -> dict[str, str]:
        return {}

    app = FastAPI()
    app.include_router(router)
    found, problems = endpoints(app)
    assert problems == [
        "GET /forgotten: declares no access policy",
        "GET /open: public but not in PUBLIC_ROUTES",
        "POST /change: changes state without CsrfChecked",
    ]
    assert Endpoint("GET", "/admin-only", "admin") in found


def test_anonymous_requests_are_refused_everywhere_but_public_routes(
    app: FastAPI, anonymous: TestClient
) -> None:
    found, _ = endpoints(app)
    checked = 0
    for endpoint in found:
        if endpoint.policy == "public":
            continue
        response = anonymous.request(endpoint.method, endpoint.url, follow_redirects=False)
        expected = 403 if endpoint.policy == "operator" else 401
        assert response.status_code == expected, (endpoint, response.text)
        checked += 1
        if endpoint.method == "GET" and endpoint.policy != "operator":
            page = anonymous.get(
                endpoint.url, headers={"Accept": "text/html"}, follow_redirects=False
            )
            assert page.status_code in (303, 401), endpoint
            if page.status_code == 303:
                assert page.headers["location"].startswith("/login?next="), endpoint
    assert checked >= 4


def test_members_are_refused_on_admin_routes(
    app: FastAPI, services: Services, anonymous: TestClient
) -> None:
    """Every admin route of the app, plus two probes so the loop never runs empty."""
    probes = APIRouter(prefix="/probe")

    @probes.get("/admin")
    def admin_page(user: AdminUser) -> dict[str, str]:
        return {"ok": user.username}

    @probes.post("/admin", dependencies=[CsrfChecked])
    def admin_change(user: AdminUser) -> dict[str, str]:
        return {"ok": user.username}

    app.include_router(probes)
    add_user(services.accounts, "member")
    add_user(services.accounts, "boss", role="admin")
    found, _ = endpoints(app)
    admin_routes = [e for e in found if e.policy == "admin"]
    assert len(admin_routes) >= 2
    sign_in(anonymous, "member")
    for endpoint in admin_routes:
        response = anonymous.request(endpoint.method, endpoint.url, follow_redirects=False)
        assert response.status_code == 403, (endpoint, response.text)
    anonymous.cookies.clear()
    sign_in(anonymous, "boss")
    assert anonymous.get("/probe/admin").json() == {"ok": "boss"}
    assert anonymous.post("/probe/admin").json() == {"ok": "boss"}


def test_public_routes_answer_anonymous_requests(anonymous: TestClient) -> None:
    assert anonymous.get("/healthz").status_code == 200
    assert anonymous.get("/login").status_code == 200
    assert anonymous.get("/invite/unknown").status_code == 404  # a page that says why
    assert anonymous.get("/openapi.json").status_code == 200
