"""How much of a request body docent reads, decided before the route reads any of it.

A pure ASGI middleware (nothing buffered). Each request's body gets the limit of its class:

- anonymous (no valid session cookie or API token, not the operator's CLI on this machine):
  DOCENT_MAX_ANONYMOUS_BODY_KB: the sign-in and invite forms fit many times over;
- signed in: DOCENT_MAX_BODY_KB: forms, JSON questions, `/v1` conversations, prompt edits;
- uploads (UPLOAD_ROUTES) from a signed-in user: what one upload may carry
  (`upload_form.request_limit`); the upload receiver still cuts off each file at
  DOCENT_MAX_FILE_MB as the bytes arrive.

A declared Content-Length over the limit is answered 413 before a byte is read. A body without
one (chunked) is counted as it arrives and cut off with 413 once past the limit; the rest is
never read. Who is asking is learnt from the headers alone (app.web.auth, which caches it for
the route), and only when a body could exceed the anonymous limit, so a client that is not
signed in never gets more than that read.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.settings import Settings
from app.web.auth import is_operator, signed_in_user
from app.web.errors import error_response
from app.web.upload_form import megabytes, request_limit
from app.web.watched_send import WatchedSend

UPLOAD_ROUTES = frozenset({("POST", "/admin/uploads"), ("POST", "/api/v1/documents")})


class BodyTooLarge(HTTPException):
    """Raised from `receive` when a streamed body passes its limit; FastAPI passes HTTP
    exceptions on, so the route's reading stops and the usual error handlers answer 413."""

    def __init__(self, detail: str) -> None:
        super().__init__(413, detail)


@dataclass(frozen=True)
class Limits:
    anonymous: int  # bytes
    signed_in: int
    upload: int

    @classmethod
    def of(cls, settings: Settings) -> Limits:
        return cls(
            anonymous=settings.max_anonymous_body_kb << 10,
            signed_in=settings.max_body_kb << 10,
            upload=request_limit(settings.max_file_mb << 20),
        )


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.limits = Limits.of(settings)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        body = _Body(scope, self.limits)
        declared = _declared_length(scope)
        if declared is not None and declared > body.limit:
            await body.identify()
            if declared > body.limit:
                refused = await error_response(Request(scope), BodyTooLarge(body.refusal()))
                await refused(scope, receive, send)
                return

        async def counted() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                await body.received(len(message.get("body", b"")))
            return message

        watched = WatchedSend(send)
        try:
            await self.app(scope, counted, watched)
        except BodyTooLarge as exc:  # a route that let it through: answer it here
            if watched.started:
                raise
            refused = await error_response(Request(scope), exc)
            await refused(scope, receive, send)


class _Body:
    """One request's body: its limit (raised once the sender is known) and bytes so far."""

    def __init__(self, scope: Scope, limits: Limits) -> None:
        self.scope, self.limits = scope, limits
        self.upload = (scope["method"], scope["path"]) in UPLOAD_ROUTES
        self.limit = limits.anonymous
        self.known = False  # the sender identified
        self.signed_in = False
        self.count = 0

    async def identify(self) -> None:
        if self.known:
            return
        self.known = True
        request = Request(self.scope)
        user = await run_in_threadpool(signed_in_user, request)
        self.signed_in = user is not None or is_operator(request)
        if self.signed_in:
            self.limit = self.limits.upload if self.upload else self.limits.signed_in

    async def received(self, size: int) -> None:
        self.count += size
        if self.count > self.limit:
            await self.identify()
            if self.count > self.limit:
                raise BodyTooLarge(self.refusal())

    def refusal(self) -> str:
        if not self.signed_in:
            return (
                f"This request is larger than the {_size(self.limit)} a request may carry "
                "before signing in: sign in first, or send an API token as "
                "`Authorization: Bearer <token>`."
            )
        if self.upload:
            return f"This upload is larger than the {_size(self.limit)} one upload may carry."
        return (
            f"This request is larger than the {_size(self.limit)} a request may carry "
            "(DOCENT_MAX_BODY_KB)."
        )


def _declared_length(scope: Scope) -> int | None:
    value = Headers(scope=scope).get("content-length")
    return int(value) if value is not None and value.isdigit() else None


def _size(limit: int) -> str:
    return megabytes(limit) if limit >= 1 << 20 else f"{limit >> 10} KB"
