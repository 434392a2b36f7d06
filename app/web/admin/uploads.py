"""Upload: many files at once (drag and drop, or a file input), each with a live status."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, Response

from app.accounts import AccountError, User
from app.library import parse_groups
from app.uploads import UploadJob, UploadQueue
from app.web.admin.common import fragment, page, redirect, settings_of
from app.web.admin.state import AdminDep
from app.web.auth import AdminUser, CsrfChecked, accounts_of
from app.web.deps import is_htmx
from app.web.upload_form import MAX_FILES, ReceivedForm, check_content_length, receive_files

router = APIRouter()
TRUE = {"on", "true", "1", "yes"}


def upload_size_guard(request: Request, user: AdminUser) -> None:
    """Refuse an upload too big for its Content-Length before reading it (admins only)."""
    check_content_length(request, settings_of(request).max_file_mb << 20)


UploadGuard = Depends(upload_size_guard)


async def accept_uploads(request: Request, user: User, uploads: UploadQueue) -> list[UploadJob]:
    """Stream the request's files to disk and queue them; refused files are listed as failed.

    Form fields: `files` (one or more), `groups` (names, repeated or comma-separated), `replace`
    (a file with the same name is replaced instead of getting a new name).
    """
    limit = settings_of(request).max_file_mb << 20
    received = await receive_files(request, uploads.incoming, limit)
    try:
        groups = parse_groups(received.values("groups"))
    except AccountError as exc:
        _discard(received)
        raise HTTPException(422, str(exc)) from exc
    replace = any(value.lower() in TRUE for value in received.values("replace"))
    accounts = accounts_of(request)
    for group in groups:
        accounts.create_group(group)  # so it can be given to users
    jobs = []
    for item in received.files:
        if item.error is None and item.size == 0 and not item.client_name:
            _discard(ReceivedForm(files=[item]))  # the file input was left empty
            continue
        if item.error is not None or item.path is None:
            job = uploads.add_refused(item.client_name, item.error or "not received", user.username)
        else:
            job = uploads.add_file(
                item.path, item.client_name, groups, user.username, replace_existing=replace
            )
        detail = f"job {job.id}; groups: {', '.join(groups) or '(everyone)'}"
        if job.state == "failed":
            detail += f"; refused: {job.reason}"
        accounts.audit(user, "upload", job.filename, detail)
        jobs.append(job)
    if not jobs:
        raise HTTPException(422, "Choose at least one file to upload.")
    return jobs


def _discard(received: ReceivedForm) -> None:
    for item in received.files:
        if item.path is not None:
            item.path.unlink(missing_ok=True)


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
