"""Security headers on every response, set in one place (a pure ASGI middleware).

- Content-Security-Policy: scripts, styles, fonts and fetches from docent's own origin only; no
  inline script or style (templates keep theirs in /static; htmx is told not to inject its
  indicator style nor evaluate `hx-on`), no plugins, no framing (`frame-ancestors 'none'`), forms
  post to docent only. Images may also be `data:` URLs (the empty favicon).
- X-Frame-Options: DENY, for browsers that predate frame-ancestors.
- X-Content-Type-Options: nosniff; Referrer-Policy: same-origin (no URL leaves for other sites);
  Cross-Origin-Opener-Policy: same-origin.
- Strict-Transport-Security on https requests only (as uvicorn sees them: behind a TLS proxy on
  this machine, X-Forwarded-Proto makes them https).

An unhandled crash is answered here too (a plain 500 with the headers), not by Starlette's
outermost handler, which sits outside every middleware.

A route that sets one of these itself keeps its own (the file route: `sandbox` for downloads).
With DOCENT_API_DOCS, the two documentation pages get a policy that lets them load Swagger UI and
ReDoc from their CDN and run their inline start-up script: the only pages that may.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.web.watched_send import WatchedSend

POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
DOCS_CDN = "https://cdn.jsdelivr.net"
DOCS_POLICY = (
    f"default-src 'self'; script-src 'self' 'unsafe-inline' {DOCS_CDN}; "
    f"style-src 'self' 'unsafe-inline' {DOCS_CDN} https://fonts.googleapis.com; "
    "img-src 'self' data: https://fastapi.tiangolo.com https://cdn.redoc.ly; "
    "font-src 'self' https://fonts.gstatic.com; worker-src 'self' blob:; connect-src 'self'; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)
DOCS_PATHS = frozenset({"/docs", "/redoc", "/docs/oauth2-redirect"})
HSTS = "max-age=31536000"
FIXED = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
}


async def _server_error(send: Send) -> None:
    body = b"Internal Server Error"
    headers = [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", b"21")]
    await send({"type": "http.response.start", "status": 500, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp, *, api_docs: bool = False) -> None:
        self.app = app
        self.api_docs = api_docs

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        docs = self.api_docs and scope["path"] in DOCS_PATHS
        https = scope.get("scheme") == "https"

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("Content-Security-Policy", DOCS_POLICY if docs else POLICY)
                for name, value in FIXED.items():
                    headers.setdefault(name, value)
                if https:
                    headers.setdefault("Strict-Transport-Security", HSTS)
            await send(message)

        tracked = WatchedSend(with_headers)
        try:
            await self.app(scope, receive, tracked)
        except Exception:
            # An unhandled crash: Starlette's outermost handler would answer a bare 500 outside
            # this middleware. Answer it here, with the headers, and let the error go on to be
            # logged (the handler sees a response already started and only re-raises).
            if not tracked.started:
                await _server_error(with_headers)
            raise
