"""Upload: many files at once (drag and drop, or a file input), each with a live status."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from app.web.admin.common import fragment, page, redirect
from app.web.admin.state import AdminDep
from app.web.auth import AdminUser, CsrfChecked, accounts_of
from app.web.deps import is_htmx, settings_of
from app.web.upload_form import MAX_FILES, UploadGuard, accept_uploads

router = APIRouter()


@router.get("/uploads", response_class=HTMLResponse)
def uploads_page(request: Request, user: AdminUser, state: AdminDep) -> HTMLResponse:
    settings = settings_of(request)
    return page(
        request,
        "admin/uploads.html",
        "uploads",
        jobs=state.uploads.jobs(),
        busy=state.uploads.busy(),
        max_file_mb=settings.max_file_mb,
        max_files=MAX_FILES,
        groups=accounts_of(request).list_groups(),
    )


@router.get("/uploads/status", response_class=HTMLResponse)
def uploads_status(request: Request, user: AdminUser, state: AdminDep) -> HTMLResponse:
    """The status list alone; it polls itself every second while a file is queued or running."""
    return fragment(
        request, "admin/_uploads.html", jobs=state.uploads.jobs(), busy=state.uploads.busy()
    )


@router.post("/uploads", dependencies=[UploadGuard, CsrfChecked])
async def upload(request: Request, user: AdminUser, state: AdminDep) -> Response:
    """htmx and the drop zone's script get the status list; a plain form post a redirect."""
    await accept_uploads(request, user, state.uploads)
    if is_htmx(request):
        return uploads_status(request, user, state)
    return redirect("/admin/uploads")


@router.post("/uploads/clear", dependencies=[CsrfChecked])
def clear_finished(request: Request, user: AdminUser, state: AdminDep) -> Response:
    state.uploads.clear_finished()
    if is_htmx(request):
        return uploads_status(request, user, state)
    return redirect("/admin/uploads", "cleared")
