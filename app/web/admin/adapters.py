"""LoRA adapters: the ones docent knows with their checks and scores, the one in use, and
switching to another (or to the model alone) without a restart."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from app.tuning.active import MODEL_ALONE, Outcome
from app.web.admin.common import page, redirect
from app.web.admin.state import AdminDep
from app.web.auth import AdminUser, CsrfChecked, accounts_of

router = APIRouter()
AdapterKey = Annotated[str, Form(max_length=4096)]


def _page(
    request: Request,
    state: AdminDep,
    outcome: Outcome | None = None,
    key: str = "",
    status: int = 200,
) -> HTMLResponse:
    adapters = state.adapters
    entries = adapters.adapters()
    return page(
        request,
        "admin/adapters.html",
        "adapters",
        status,
        adapters=entries,
        active=adapters.active(),
        current=adapters.in_use(entries),
        stored=adapters.stored(),
        default=adapters.default,
        switchable=adapters.switchable,
        server=adapters.server,
        model_alone=MODEL_ALONE,
        outcome=outcome,
        key=key,
    )


@router.get("/adapters", response_class=HTMLResponse)
def adapters(request: Request, user: AdminUser, state: AdminDep) -> HTMLResponse:
    return _page(request, state)


@router.post("/adapters/activate", dependencies=[CsrfChecked])
def activate(
    request: Request,
    user: AdminUser,
    state: AdminDep,
    path: AdapterKey = "",
    confirm: Annotated[bool, Form()] = False,
) -> Response:
    """Serve the chosen adapter (path "" = the model alone) from the next answer on. One
    without good scores comes back with the reason and a box to tick; one that cannot be
    served comes back with the reason; nothing changes then."""
    outcome = state.adapters.activate(path, user.username, confirmed=confirm)
    if outcome.error:
        return _page(request, state, outcome, path, 422)
    if outcome.confirm:
        return _page(request, state, outcome, path, 409)
    detail = path or MODEL_ALONE
    if confirm and path:
        detail += " (confirmed despite the scores)"
    accounts_of(request).audit(user, "activate-adapter", outcome.name, detail)
    return redirect("/admin/adapters", "adapter-activated", outcome.name)
