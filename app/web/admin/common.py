"""Shared by the admin pages: rendering with the console's navigation, notices, redirects."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse

from app.web.deps import templates

SECTIONS = (
    ("documents", "Documents", "/admin/documents"),
    ("uploads", "Upload", "/admin/uploads"),
    ("users", "Users", "/admin/users"),
    ("prompts", "Prompts", "/admin/prompts"),
    ("adapters", "Adapters", "/admin/adapters"),
    ("feedback", "Feedback", "/admin/feedback"),
    ("analytics", "Usage", "/admin/analytics"),
    ("audit", "Audit log", "/admin/audit"),
)

# Messages after a redirect, by code; `arg` fills {arg} (escaped when rendered).
NOTICES = {
    "deleted": "Deleted {arg}.",
    "regrouped": "Groups saved for {arg}.",
    "reindex": "{arg} is queued to be parsed and embedded again.",
    "user-saved": "Saved {arg}.",
    "deactivated": "{arg} is deactivated: signed out everywhere, API tokens revoked.",
    "token-revoked": "API token of {arg} revoked.",
    "tokens-revoked": "Every API token of {arg} revoked.",
    "activated": "{arg} can sign in again.",
    "group-added": "Group {arg} created.",
    "prompt-saved": "{arg} saved: the next question uses it.",
    "prompt-restored": "{arg}: the older version is restored and in use.",
    "prompt-reset": "{arg} is back to the built-in template.",
    "adapter-activated": "{arg} answers from the next question on.",
    "cleared": "Finished uploads cleared from the list.",
    "corrected": "The right answer to answer {arg} is saved: `docent tune data` learns from it.",
}
PAGE_SIZE = 50


def page(
    request: Request, template: str, section: str, status_code: int = 200, **context: Any
) -> HTMLResponse:
    """An admin page: the template with the navigation and the notice from the URL, if any."""
    code = request.query_params.get("notice", "")
    notice = (
        NOTICES[code].format(arg=request.query_params.get("arg", "")) if code in NOTICES else ""
    )
    base = {"sections": SECTIONS, "section": section, "notice": notice}
    response = templates.TemplateResponse(
        request, template, base | context, status_code=status_code
    )
    response.headers["Cache-Control"] = "no-store"
    return response


def fragment(request: Request, template: str, **context: Any) -> HTMLResponse:
    return templates.TemplateResponse(request, template, context)


def redirect(url: str, notice: str = "", arg: str = "") -> RedirectResponse:
    """303 to `url` (after a form post), carrying a notice code for the page to show."""
    if notice:
        url += ("&" if "?" in url else "?") + urlencode({"notice": notice, "arg": arg[:200]})
    return RedirectResponse(url, status_code=303)


def page_slice(items: list[Any], page_number: int, size: int = PAGE_SIZE) -> tuple[list[Any], int]:
    """(the items of one page, the number of pages); page numbers start at 1."""
    pages = max(1, -(-len(items) // size))
    number = min(max(1, page_number), pages)
    return items[(number - 1) * size : number * size], pages
