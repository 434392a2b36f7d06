"""Answer only for the host names docent is reached by (against DNS rebinding).

A page on another site can point its own name at 127.0.0.1 and have a browser on this machine
talk to docent as if it were that site; its requests then carry the other site's name in
`Host`. Requests whose Host is not one of docent's names get 400 before anything else runs.

The names: the loopback ones (`localhost`, `127.0.0.1`, `::1`: the CLI and `make run` use them;
a rebinding page never can), Starlette's test client (`testserver`), DOCENT_HOST when it is one
address (bound to all, `0.0.0.0` or `::`: this machine's host name), and DOCENT_ALLOWED_HOSTS
(comma-separated; `*` accepts every name). Starlette's TrustedHostMiddleware is not used: it
cuts `[::1]:8000` at the first colon.
"""

from __future__ import annotations

import logging
import socket

from starlette.datastructures import Headers
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from app.settings import Settings

ALWAYS = frozenset({"localhost", "127.0.0.1", "::1", "testserver"})
ALL_INTERFACES = frozenset({"0.0.0.0", "::", ""})
log = logging.getLogger(__name__)


def host_names(settings: Settings) -> frozenset[str] | None:
    """The names docent answers for; None: every name (`*`)."""
    given = {bare(name) for name in settings.allowed_hosts.split(",") if name.strip()}
    if "*" in given:
        return None
    own = socket.gethostname() if settings.host in ALL_INTERFACES else settings.host
    return ALWAYS | given | {bare(own)}


def bare(host: str) -> str:
    """A Host header's name, lower case, without port, IPv6 brackets or a trailing dot."""
    host = host.strip().lower()
    if host.startswith("["):  # [::1]:8000
        return host[1:].split("]", 1)[0]
    if host.count(":") == 1:  # name:port (a bare IPv6 address has several colons)
        host = host.split(":", 1)[0]
    return host.rstrip(".")


class AllowedHostsMiddleware:
    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.names = host_names(settings)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.names is None or scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        given = Headers(scope=scope).get("host", "")
        if bare(given) in self.names:
            await self.app(scope, receive, send)
            return
        log.warning("refused a request for host %r (not in DOCENT_ALLOWED_HOSTS)", given[:100])
        refusal = PlainTextResponse(
            "docent does not answer for this host name: an operator can add it to "
            "DOCENT_ALLOWED_HOSTS.",
            status_code=400,
        )
        await refusal(scope, receive, send)
