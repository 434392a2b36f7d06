"""A page of a cited PDF or picture file as a PNG, for the source panel's outlined passage.

Only for those who may read the document (the same rule and the same 404 as its original
file); rendered on first request and cached (`app.documents.page_pictures`).
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse
from starlette.concurrency import run_in_threadpool

from app.documents.originals import may_open, servable_path
from app.documents.page_pictures import NoPicture, page_picture
from app.web.auth import CurrentUser
from app.web.deps import ServicesDep, settings_of

router = APIRouter()
NOT_FOUND = "no such document"


@router.get("/documents/{doc_id}/pages/{page}.png")
async def document_page(
    doc_id: str, page: int, request: Request, services: ServicesDep, user: CurrentUser
) -> FileResponse:
    record = services.catalog.get(doc_id)
    if record is None or not may_open(user, record):
        raise HTTPException(404, NOT_FOUND)
    original = servable_path(record.source)
    if original is None:
        raise HTTPException(404, "the original file of this document is no longer available")
    cache = settings_of(request).page_pictures_dir
    try:
        picture = await run_in_threadpool(page_picture, record, original, page, cache)
    except NoPicture as exc:
        raise HTTPException(404, str(exc)) from exc
    headers = {"X-Content-Type-Options": "nosniff", "Cache-Control": "private, no-cache"}
    return FileResponse(picture, media_type="image/png", headers=headers)
