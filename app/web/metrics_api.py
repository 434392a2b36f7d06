"""`GET /metrics`: the app's Prometheus metrics, for this machine and admins unless public.

DOCENT_METRICS_PUBLIC=true serves them to anyone who can reach the app. Otherwise a scraper on
this machine (a loopback client) reads them freely, and others need an admin's API token as
`Authorization: Bearer <token>`. Behind a reverse proxy on the same machine, let it send
X-Forwarded-For (uvicorn trusts it from 127.0.0.1), or every client looks local.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Request, Response

from app.metrics import CONTENT_TYPE, Metrics
from app.web.auth import LOOPBACK, current_user

router = APIRouter()


def metrics_reader(request: Request) -> None:
    """Policy of /metrics: public when configured, else loopback clients and admins."""
    if request.app.state.settings.metrics_public:
        return
    if request.client is not None and request.client.host in LOOPBACK:
        return
    if not current_user(request).is_admin:  # anonymous: 401 (sign in or send a token)
        raise HTTPException(403, "Metrics are for administrators.")


@router.get("/metrics", include_in_schema=False, dependencies=[Depends(metrics_reader)])
async def metrics(request: Request) -> Response:
    """Prometheus text exposition format."""
    collected: Metrics = request.app.state.metrics
    return Response(collected.render(), media_type=CONTENT_TYPE)
