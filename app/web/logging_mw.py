"""One log line and one latency observation per request, with a request id echoed back.

A plain ASGI middleware (no buffering, so streamed answers pass through untouched). The route
label is the route's template (`/ask/stream`, not the URL), so the metrics stay few; the user is
read from `request.state.user`, where app.web.auth leaves whoever it identified.

Secrets never reach the log: the path is logged with every secret in it replaced by
`[redacted]` (the `{token}` of invite links and any other route parameter named as a secret,
and any segment shaped like a random token, even on paths no route took). The query string is
not logged.
"""

from __future__ import annotations

import logging
import re
import time
import uuid

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.logs import REQUEST_ID
from app.metrics import Metrics
from app.web.client import client_address_of

REQUEST_ID_HEADER = "X-Request-ID"
UNMATCHED = "<unmatched>"  # the route label of requests no route took (404s)
_GIVEN_ID = re.compile(r"[A-Za-z0-9._:\-]{1,128}")
REDACTED = "[redacted]"
SECRET_PARAMS = frozenset({"token", "secret", "invite", "reset", "key"})  # route parameter names
# What app.accounts.credentials.new_token makes (43 URL-safe characters, maybe a prefix); a run of
# hex digits (a document's hash) is not a secret and stays readable.
_TOKEN_SHAPED = re.compile(r"(?![0-9a-fA-F]+$)[A-Za-z0-9_\-]{32,}")
log = logging.getLogger("docent.request")


class RequestLogMiddleware:
    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = request_id_for(Headers(scope=scope).get(REQUEST_ID_HEADER))
        token = REQUEST_ID.set(request_id)
        started = time.perf_counter()
        status = 500  # unless a response starts: an exception escaped the app

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = request_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            seconds = time.perf_counter() - started
            route = route_template(scope)
            self.metrics.observe_request(scope["method"], route, status, seconds)
            _log_request(scope, route, status, seconds)
            REQUEST_ID.reset(token)


def request_id_for(given: str | None) -> str:
    """The client's X-Request-ID when it is a plausible id; otherwise a new one."""
    if given and _GIVEN_ID.fullmatch(given):
        return given
    return uuid.uuid4().hex


def route_template(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) and path else UNMATCHED


def logged_path(scope: Scope) -> str:
    """The request's path as the log may show it: secrets replaced by `[redacted]`."""
    params = scope.get("path_params") or {}
    secrets = {
        str(value)
        for name, value in params.items()
        if name.lower() in SECRET_PARAMS or name.lower().endswith(("_token", "_secret"))
    }
    path: str = scope["path"]
    return "/".join(
        REDACTED if segment in secrets or _TOKEN_SHAPED.fullmatch(segment) else segment
        for segment in path.split("/")
    )


def user_id(scope: Scope) -> int | None:
    state = scope.get("state")
    user = state.get("user") if isinstance(state, dict) else None
    uid = getattr(user, "id", None)
    return uid if isinstance(uid, int) else None


def _log_request(scope: Scope, route: str, status: int, seconds: float) -> None:
    uid = user_id(scope)
    path = logged_path(scope)
    duration_ms = round(seconds * 1000, 1)
    level = logging.ERROR if status >= 500 else logging.INFO
    log.log(
        level,
        "%s %s %s %.1fms user=%s",
        scope["method"],
        path,
        status,
        duration_ms,
        "-" if uid is None else uid,
        extra={
            "method": scope["method"],
            "path": path,
            "route": route,
            "status": status,
            "duration_ms": duration_ms,
            "user_id": uid,
            "client": client_address_of(scope),
        },
    )
