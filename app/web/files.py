"""The original file of a cited document, for those who may read it.

The document is looked up in the catalog by id (never by a path from the request) and its
groups there decide: a user who may not read it gets 404, as for a document that does not
exist. PDFs open inline (the link adds `#page=N`); other files download, served sandboxed
and unsniffed so a document's own HTML or script never runs on docent's origin.
"""

from __future__ import annotations

import mimetypes
from pathlib import Path

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse

from app.documents.originals import may_open, servable_path
from app.web.auth import CurrentUser
from app.web.deps import ServicesDep

router = APIRouter()
NOT_FOUND = "no such document"


@router.get("/documents/{doc_id}/file")
def document_file(doc_id: str, services: ServicesDep, user: CurrentUser) -> FileResponse:
    record = services.catalog.get(doc_id)
    if record is None or not may_open(user, record):
        raise HTTPException(404, NOT_FOUND)
    path = servable_path(record.source)
    if path is None:
        raise HTTPException(404, "the original file of this document is no longer available")
    pdf = path.suffix.lower() == ".pdf"
    headers = {"X-Content-Type-Options": "nosniff", "Cache-Control": "private, no-store"}
    if not pdf:
        headers["Content-Security-Policy"] = "sandbox"
    else:  # the browser's PDF viewer is a plugin: the page policy's object-src 'none' would
        headers["Content-Security-Policy"] = "frame-ancestors 'none'"  # stop it (Chromium)
    media_type = "application/pdf" if pdf else _download_type(path)
    return FileResponse(
        path,
        media_type=media_type,
        filename=path.name,
        headers=headers,
        content_disposition_type="inline" if pdf else "attachment",
    )


def _download_type(path: Path) -> str:
    guessed, _ = mimetypes.guess_type(path.name)
    if guessed is None or guessed.startswith(("text/html", "image/svg", "application/xhtml")):
        return "application/octet-stream"  # never rendered as a page, even if sniffed
    return guessed
