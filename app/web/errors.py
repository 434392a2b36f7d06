"""Errors a person sees in the browser as a page; API and htmx callers keep JSON bodies."""

from __future__ import annotations

import json

from fastapi import FastAPI, Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException

from app.web.deps import templates

TITLES = {
    400: "Bad request",
    403: "Not allowed",
    404: "Not found",
    405: "Not allowed",
    409: "Conflict",
    413: "Too large",
    422: "Not understood",
    429: "Too many attempts",
    503: "Busy",
}


def _wants_page(request: Request) -> bool:
    """A person's browser asking for a page (not htmx, not an API path)."""
    htmx = request.headers.get("HX-Request") == "true"
    api = request.url.path.startswith(("/api/", "/v1/"))
    return not htmx and not api and "text/html" in request.headers.get("accept", "")


async def error_response(request: Request, exc: Exception) -> Response:
    """An HTTP error as a page for a person's browser, else FastAPI's JSON body."""
    assert isinstance(exc, HTTPException)
    if not _wants_page(request):
        return await http_exception_handler(request, exc)
    context = {
        "status": exc.status_code,
        "title": TITLES.get(exc.status_code, "Something went wrong"),
        "detail": exc.detail if isinstance(exc.detail, str) else "",
    }
    return templates.TemplateResponse(
        request, "error.html", context, status_code=exc.status_code, headers=exc.headers
    )


async def validation_error(request: Request, exc: RequestValidationError) -> Response:
    """A form a browser posted that fails validation (a question over the length limit, a
    missing field): a page saying which field and why; FastAPI's JSON 422 for everyone else."""
    if not _wants_page(request):
        return _validation_json(exc)
    context = {"status": 422, "title": TITLES[422], "detail": _readable(exc)}
    return templates.TemplateResponse(request, "error.html", context, status_code=422)


def _validation_json(exc: RequestValidationError) -> Response:
    """FastAPI's 422 body, as ASCII JSON: the rejected input is echoed back, and input that is
    not valid Unicode (a lone surrogate from a JSON escape) would otherwise fail to encode."""
    body = json.dumps({"detail": jsonable_encoder(exc.errors())}, ensure_ascii=True)
    return Response(body, status_code=422, media_type="application/json")


def _readable(exc: RequestValidationError) -> str:
    problems = []
    for error in exc.errors()[:3]:
        field = str(error.get("loc", ("", "request"))[-1])
        problems.append(f"{field}: {error.get('msg', 'invalid')}")
    return "; ".join(problems) or "The request could not be read."


def install(app: FastAPI) -> None:
    """HTTP errors for browser page requests render templates/error.html."""
    app.add_exception_handler(HTTPException, error_response)
