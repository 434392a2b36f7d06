"""`/api/v1/documents`: upload, list and delete documents with an admin's API token.

Uploads go through the same queue as the admin console's: `POST` answers 202 with one job per
file, and `GET /api/v1/uploads/{id}` follows a job (queued, parsing, embedding, done, failed).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import JSONResponse

from app.documents import library
from app.web.admin.state import AdminDep
from app.web.auth import AdminUser, CsrfChecked, accounts_of
from app.web.deps import ServicesDep, record_or_404
from app.web.upload_form import UploadGuard, accept_uploads

router = APIRouter(prefix="/api/v1", tags=["documents"])
Text = Annotated[str, Query(max_length=200)]

_UPLOAD_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["files"],
                    "properties": {
                        "files": {"type": "array", "items": {"type": "string", "format": "binary"}},
                        "groups": {
                            "type": "string",
                            "description": "Groups that may read the files (comma-separated or "
                            "repeated); none: everyone",
                        },
                        "replace": {
                            "type": "boolean",
                            "description": "Replace an upload with the same file name",
                        },
                    },
                }
            }
        },
    }
}


@router.post(
    "/documents",
    status_code=202,
    dependencies=[UploadGuard, CsrfChecked],
    openapi_extra=_UPLOAD_BODY,
)
async def upload_documents(request: Request, user: AdminUser, state: AdminDep) -> JSONResponse:
    """Queue files for ingestion (multipart field `files`, up to DOCENT_MAX_FILE_MB each).
    A file refused on arrival (too big, unsupported type) is a job in state `failed`."""
    jobs = await accept_uploads(request, user, state.uploads)
    return JSONResponse({"jobs": [job.as_dict() for job in jobs]}, status_code=202)


@router.get("/uploads/{job_id}")
def upload_job(job_id: str, user: AdminUser, state: AdminDep) -> dict[str, object]:
    job = state.uploads.get(job_id)
    if job is None:
        raise HTTPException(
            404, f"No upload job {job_id!r} (finished jobs are forgotten at restart)."
        )
    return job.as_dict()


@router.get("/documents")
def list_documents(
    services: ServicesDep,
    user: AdminUser,
    q: Text = "",
    status: Text = "",
    type: Text = "",
    group: Text = "",
) -> dict[str, object]:
    """The catalog: every document with its status, groups and chunk count; filters optional
    (`group=(everyone)` for documents without groups)."""
    where = library.DocumentFilter(q.strip(), status, type, group)
    return {"documents": [library.as_dict(r) for r in library.find(services.catalog, where)]}


@router.delete("/documents/{doc_id}", dependencies=[CsrfChecked])
def delete_document(
    request: Request, doc_id: str, services: ServicesDep, user: AdminUser, state: AdminDep
) -> dict[str, object]:
    """Remove a document from the knowledge base (an uploaded file is deleted with it)."""
    record = record_or_404(services, doc_id)
    removed = library.delete(record, services.store, services.catalog, state.uploads.folder)
    accounts_of(request).audit(
        user, "delete-document", record.title or record.source, record.source
    )
    return {"deleted": record.doc_id, "file_deleted": removed}
