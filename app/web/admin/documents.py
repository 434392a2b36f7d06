"""Documents: search and filter the catalog, change groups, delete, re-index, read the chunks."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, Response

from app.accounts import AccountError
from app.documents import library
from app.documents.library import DocumentFilter
from app.documents.worker import Ingesting
from app.web.admin.common import fragment, page, page_slice, redirect
from app.web.admin.state import AdminDep
from app.web.auth import AdminUser, CsrfChecked, accounts_of
from app.web.deps import ServicesDep, is_htmx, record_or_404
from ingest.catalog import DocumentRecord

router = APIRouter()
CHUNKS_PER_PAGE = 100
Text = Annotated[str, Query(max_length=200)]
PageNumber = Annotated[int, Query(ge=1, le=100_000)]


def _name(record: DocumentRecord) -> str:
    return record.title or Path(record.source).name


@router.get("/documents", response_class=HTMLResponse)
def documents(
    request: Request,
    services: ServicesDep,
    user: AdminUser,
    q: Text = "",
    status: Text = "",
    type: Text = "",
    group: Text = "",
    page_number: Annotated[int, Query(alias="page", ge=1, le=100_000)] = 1,
) -> HTMLResponse:
    """The list; the search box and filters ask htmx for the results table alone."""
    where = DocumentFilter(q.strip(), status, type, group)
    everything = services.catalog.all()
    found = [record for record in everything if where.matches(record)]
    shown, pages = page_slice(found, page_number)
    context: dict[str, Any] = {
        "where": where,
        "documents": shown,
        "total": len(found),
        "page_number": min(page_number, pages),
        "pages": pages,
        "facets": library.facets(everything),
        "everyone": library.EVERYONE,
        "statuses": library.STATUSES,
    }
    if is_htmx(request) and request.headers.get("HX-Target") == "doc-results":
        return fragment(request, "admin/_documents.html", **context)
    return page(request, "admin/documents.html", "documents", **context)


@router.get("/documents/{doc_id}", response_class=HTMLResponse)
def document(
    request: Request,
    services: ServicesDep,
    user: AdminUser,
    doc_id: str,
    page_number: Annotated[int, Query(alias="page", ge=1, le=100_000)] = 1,
) -> HTMLResponse:
    """One document: its catalog record, groups, actions, and its chunks (text, page, headings)."""
    record = record_or_404(services, doc_id)
    chunks = library.chunks(record, services.store)
    shown, pages = page_slice(chunks, page_number, CHUNKS_PER_PAGE)
    return page(
        request,
        "admin/document.html",
        "documents",
        record=record,
        chunks=shown,
        chunk_total=len(chunks),
        page_number=min(page_number, pages),
        pages=pages,
        groups=sorted(set(accounts_of(request).list_groups()) | set(record.groups)),
        file_type=library.file_type(record),
    )


@router.post("/documents/{doc_id}/groups", dependencies=[CsrfChecked])
def set_groups(
    request: Request,
    services: ServicesDep,
    state: AdminDep,
    user: AdminUser,
    doc_id: str,
    groups: Annotated[list[str], Form(max_length=200)] = [],  # noqa: B006 - FastAPI copies it
    new_groups: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    """Who may read it. An ingested document's passages are updated in place (nothing is
    embedded again), recorded as a finished job row; one that failed is queued to be ingested
    again with these groups. A re-index waiting in the queue reads the new groups when it runs;
    while the file is being ingested its groups cannot change (409: the run would write the
    ones it started with)."""
    record = record_or_404(services, doc_id)
    try:
        chosen = library.parse_groups([*groups, new_groups])
    except AccountError as exc:
        raise HTTPException(422, str(exc)) from exc
    accounts = accounts_of(request)
    try:
        job = state.uploads.regroup(Path(record.source), chosen, user.username)
    except Ingesting as exc:
        raise HTTPException(409, str(exc)) from exc
    for group in chosen:
        accounts.create_group(group)
    before = ", ".join(record.groups) or "(everyone)"
    detail = f"groups: {', '.join(chosen) or '(everyone)'} (were {before})"
    accounts.audit(user, "regroup", _name(record), detail)
    if job.kind == "regroup":
        return redirect(f"/admin/documents/{record.doc_id}", "regrouped", _name(record))
    return redirect("/admin/uploads", "reindex", _name(record))


@router.post("/documents/{doc_id}/reindex", dependencies=[CsrfChecked])
def reindex(
    request: Request, services: ServicesDep, state: AdminDep, user: AdminUser, doc_id: str
) -> Response:
    """Parse and embed again from the file, even if it did not change (through the queue)."""
    record = record_or_404(services, doc_id)
    if not Path(record.source).is_file():
        raise HTTPException(409, f"The file {record.source} is gone: nothing to re-index from.")
    # the groups and search tags are kept, as `docent docs reindex` keeps them: those the
    # catalog has when the job runs, so a group change made while it waits is not undone
    state.uploads.add_reindex(Path(record.source), actor=user.username)
    accounts_of(request).audit(user, "reindex", _name(record), record.doc_id)
    return redirect("/admin/uploads", "reindex", _name(record))


@router.post("/documents/{doc_id}/delete", dependencies=[CsrfChecked])
def delete(
    request: Request, services: ServicesDep, state: AdminDep, user: AdminUser, doc_id: str
) -> Response:
    """Remove it from the knowledge base (an uploaded file is deleted too)."""
    record = record_or_404(services, doc_id)
    removed_file = library.delete(record, services.store, services.catalog, state.uploads.folder)
    note = "; uploaded file deleted" if removed_file else "; the file stays"
    accounts_of(request).audit(user, "delete-document", _name(record), record.source + note)
    if is_htmx(request):
        return Response(status_code=200, headers={"HX-Redirect": "/admin/documents"})
    return redirect("/admin/documents", "deleted", _name(record))
