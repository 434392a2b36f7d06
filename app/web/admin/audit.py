"""The audit log of admin actions: who, what, on what, when; newest first, a page at a time."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from app.web.admin.common import PAGE_SIZE, page
from app.web.auth import AdminUser, accounts_of

router = APIRouter()


@router.get("/audit", response_class=HTMLResponse)
def audit(
    request: Request,
    user: AdminUser,
    page_number: Annotated[int, Query(alias="page", ge=1, le=1_000_000)] = 1,
) -> HTMLResponse:
    offset = (page_number - 1) * PAGE_SIZE
    entries = accounts_of(request).audit_entries(limit=PAGE_SIZE + 1, offset=offset)
    return page(
        request,
        "admin/audit.html",
        "audit",
        entries=entries[:PAGE_SIZE],
        page_number=page_number,
        has_next=len(entries) > PAGE_SIZE,
    )
