"""Errors a person sees in the browser as a page; API and htmx callers keep JSON bodies."""

from __future__ import annotations

from fastapi import FastAPI, Request, Response
from fastapi.exception_handlers import http_exception_handler
from starlette.exceptions import HTTPException

from app.web.deps import templates

TITLES = {
    400: "Bad request",
    403: "Not allowed",
    404: "Not found",
    405: "Not allowed",
    409: "Conflict",
    413: "Too large",
    429: "Too many attempts",
    503: "Busy",
}


def _wants_page(request: Request) -> bool:
    htmx = request.headers.get("HX-Request") == "true"
    return not htmx and "text/html" in request.headers.get("accept", "")


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if not _wants_page(request) or request.url.path.startswith(("/api/", "/v1/")):
        return await http_exception_handler(request, exc)
    context = {
        "status": exc.status_code,
        "title": TITLES.get(exc.status_code, "Something went wrong"),
        "detail": exc.detail if isinstance(exc.detail, str) else "",
    }
    return templates.TemplateResponse(
        request, "error.html", context, status_code=exc.status_code, headers=exc.headers
    )


def install(app: FastAPI) -> None:
    """HTTP errors for browser page requests render templates/error.html."""
    app.add_exception_handler(HTTPException, _http_error)
