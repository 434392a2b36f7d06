"""The admins' console under /admin: every route is for admins (AdminUser), every form post is
CSRF-checked, every change is written to the audit log."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse

from app.web.admin import adapters, audit, documents, feedback, prompts, uploads, users
from app.web.admin.state import start, stop
from app.web.auth import AdminUser

__all__ = ["router", "start", "stop"]

router = APIRouter(prefix="/admin", include_in_schema=False)


@router.get("")
def console(request: Request, user: AdminUser) -> RedirectResponse:
    return RedirectResponse("/admin/documents", status_code=303)


for module in (documents, uploads, users, prompts, adapters, feedback, audit):
    router.include_router(module.router)
