"""`GET /metrics`: the app's Prometheus metrics, for this machine and admins unless public.

DOCENT_METRICS_PUBLIC=true serves them to anyone who can reach the app. Otherwise a scraper on
this machine (a loopback client) reads them freely, and others need an admin's API token as
`Authorization: Bearer <token>`. Who is local is decided by app.web.client: behind a reverse
proxy, name it in DOCENT_TRUSTED_PROXIES and let it send X-Forwarded-For; a local proxy that is
not named and sends a forwarding header does not make its visitors local.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Request, Response

from app.metrics import CONTENT_TYPE, Metrics
from app.web.auth import current_user
from app.web.client import is_local

router = APIRouter()


def metrics_reader(request: Request) -> None:
    """Policy of /metrics: public when configured, else loopback clients and admins."""
    if request.app.state.settings.metrics_public:
        return
    if is_local(request):
        return
    if not current_user(request).is_admin:  # anonymous: 401 (sign in or send a token)
        raise HTTPException(403, "Metrics are for administrators.")


@router.get("/metrics", include_in_schema=False, dependencies=[Depends(metrics_reader)])
async def metrics(request: Request) -> Response:
    """Prometheus text exposition format."""
    collected: Metrics = request.app.state.metrics
    return Response(collected.render(), media_type=CONTENT_TYPE)
