"""Request dependencies: the services built in the lifespan, and the templates."""

from __future__ import annotations

from pathlib import PurePath
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.templating import Jinja2Templates

from app.documents.library import DocumentNotFound, find_document
from app.paths import TEMPLATES_DIR
from app.services import Services
from app.settings import Settings
from ingest.catalog import DocumentRecord


def signed_in_context(request: Request) -> dict[str, object]:
    """Every page knows who is signed in and the CSRF token its forms send back."""
    return {
        "current_user": getattr(request.state, "user", None),
        "csrf_token": getattr(request.state, "csrf_token", ""),
    }


templates = Jinja2Templates(directory=str(TEMPLATES_DIR), context_processors=[signed_in_context])


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


def is_htmx(request: Request) -> bool:
    """True for requests htmx made (they get a fragment instead of a page)."""
    return request.headers.get("HX-Request") == "true"


ServicesDep = Annotated[Services, Depends(get_services)]


def settings_of(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def record_or_404(services: ServicesDep, doc_id: str) -> DocumentRecord:
    try:
        return find_document(services.catalog, doc_id)
    except DocumentNotFound as exc:
        raise HTTPException(404, f"No document {doc_id!r}: it may have been deleted.") from exc


def _register_filters() -> None:
    from app.answering.yes_denied import REASKED
    from app.web.render import answer_html, highlighted, page_view

    templates.env.filters["answer_html"] = answer_html
    templates.env.filters["highlighted"] = highlighted
    templates.env.filters["page_view"] = page_view
    templates.env.filters["basename"] = lambda path: PurePath(str(path)).name
    templates.env.globals["reasked_note"] = REASKED


_register_filters()
