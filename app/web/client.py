"""Who is on the other end: the one place the client's address is derived.

Behind a reverse proxy every request comes from the proxy, and the client's own address is in
X-Forwarded-For, a header anyone can send. So it is believed only from the proxies named in
DOCENT_TRUSTED_PROXIES (addresses or CIDRs; default none): the client is the right-most address
in the header that is not one of them. Otherwise the header is ignored and the peer's address is
the client's, so a proxy that passes on (or does not set) the header cannot make a visitor look
local (`/metrics`, operator ingestion) or choose whose sign-ins get throttled. uvicorn's own
handling of the header is off (`docent serve` starts it with proxy_headers=False).

The sign-in throttle, `/metrics`, operator-only routes and the request log all use this module.
"""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address, ip_address
from typing import Any

from starlette.requests import HTTPConnection
from starlette.types import Scope

LOOPBACK_NAMES = frozenset({"localhost"})
UNKNOWN = "unknown"
FORWARDING_HEADERS = (b"x-forwarded-for", b"forwarded", b"x-real-ip")


def _address(text: str) -> IPv4Address | IPv6Address | None:
    try:
        return ip_address(text.strip().strip("[]"))
    except ValueError:
        return None


def _trusted(scope: Scope) -> tuple[Any, ...]:
    app = scope.get("app")
    settings = getattr(getattr(app, "state", None), "settings", None)
    return tuple(getattr(settings, "trusted_networks", ()))


def _peer(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client and client[0] else UNKNOWN


def _is_trusted(text: str, networks: tuple[Any, ...]) -> bool:
    address = _address(text)
    return address is not None and any(address in network for network in networks)


def client_address_of(scope: Scope) -> str:
    """The client's address for an ASGI scope (see the module's docstring)."""
    peer, networks = _peer(scope), _trusted(scope)
    if not _is_trusted(peer, networks):
        return peer
    values = [v.decode("latin-1") for k, v in scope.get("headers", ()) if k == b"x-forwarded-for"]
    hops = [hop.strip() for hop in ",".join(values).split(",") if hop.strip()]
    if not hops:
        return UNKNOWN  # a trusted proxy that did not say for whom it asks
    for hop in reversed(hops):
        if _address(hop) is None:
            return UNKNOWN  # garbage where the proxy should have written an address
        if not _is_trusted(hop, networks):
            return str(_address(hop))
    return str(_address(hops[0]))  # every hop is a trusted proxy: the first one asked


def client_address(request: HTTPConnection) -> str:
    """The client's address for a request (see the module's docstring)."""
    return client_address_of(request.scope)


def _loopback(address: str) -> bool:
    parsed = _address(address)
    return address in LOOPBACK_NAMES or (parsed is not None and parsed.is_loopback)


def _relayed(request: HTTPConnection) -> bool:
    headers = {k for k, _ in request.scope.get("headers", ())}
    return any(name in headers for name in FORWARDING_HEADERS)


def is_local(request: HTTPConnection) -> bool:
    """True for a client on this machine (`/metrics`): its address as `client_address` finds it
    is a loopback one. A request from a local proxy that is not named but sends a forwarding
    header is not local, nor one from a named proxy that does not say for whom it asks."""
    if not _loopback(client_address(request)):
        return False
    if _is_trusted(_peer(request.scope), _trusted(request.scope)):
        return True  # the proxy said who: a loopback client behind it
    return not _relayed(request)


def is_direct_local(request: HTTPConnection) -> bool:
    """True for a program on this machine talking to the app directly (the operator CLI): the
    peer is a loopback address and no forwarding header came, whatever the proxies named (a
    local proxy's requests carry one)."""
    return _loopback(_peer(request.scope)) and not _relayed(request)
