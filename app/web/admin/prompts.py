"""Prompt templates: edit with a preview against a sample question, refuse what does not render,
keep every save, restore an older one."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, Response

from app.answering.retrieve import retrieve
from app.generation.prompt_versions import MAX_TEMPLATE_CHARS, PromptEditor
from app.services import Services
from app.web.admin.common import fragment, page, redirect
from app.web.admin.state import AdminDep
from app.web.auth import AdminUser, CsrfChecked, accounts_of
from app.web.deps import ServicesDep, is_htmx
from ingest.access import Access
from ingest.types import Passage

router = APIRouter()
SAMPLE_QUESTION = "How many days a week can I work from home?"
Source = Annotated[str, Form(max_length=MAX_TEMPLATE_CHARS * 2)]
Question = Annotated[str, Form(max_length=2000)]


def known(editor: PromptEditor, name: str) -> str:
    if name not in editor.names():
        raise HTTPException(404, f"No prompt named {name!r}.")
    return name


def sample_passages(services: Services, question: str) -> list[Passage]:
    """What the knowledge base would give the model for the sample question (all documents)."""
    answerer = services.answerer
    found = retrieve(
        question,
        embedder=services.embedder,
        store=services.store,
        limit=answerer.options.top_k,
        live_versions=answerer.live_versions,
        access=Access.admin(),
    )
    return answerer.fit(question, found)[0]


def _editor_page(
    request: Request,
    state: AdminDep,
    services: Services,
    name: str,
    source: str,
    question: str = SAMPLE_QUESTION,
    error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    editor = state.prompts
    info = next(i for i in editor.info() if i.name == name)
    preview = editor.preview(name, source, question, sample_passages(services, question))
    return page(
        request,
        "admin/prompt.html",
        "prompts",
        status_code,
        name=name,
        info=info,
        source=source,
        question=question,
        preview=preview,
        error=error,
        history=editor.history(name),
        max_chars=MAX_TEMPLATE_CHARS,
    )


@router.get("/prompts", response_class=HTMLResponse)
def prompts(request: Request, user: AdminUser, state: AdminDep) -> HTMLResponse:
    return page(request, "admin/prompts.html", "prompts", prompts=state.prompts.info())


@router.get("/prompts/{name}", response_class=HTMLResponse)
def prompt(
    request: Request, user: AdminUser, state: AdminDep, services: ServicesDep, name: str
) -> HTMLResponse:
    name = known(state.prompts, name)
    return _editor_page(request, state, services, name, state.prompts.current(name))


@router.post("/prompts/{name}/preview", dependencies=[CsrfChecked])
def preview(
    request: Request,
    user: AdminUser,
    state: AdminDep,
    services: ServicesDep,
    name: str,
    source: Source,
    question: Question = SAMPLE_QUESTION,
) -> HTMLResponse:
    """htmx gets the preview alone; without JavaScript the editor comes back with it."""
    name = known(state.prompts, name)
    question = question.strip() or SAMPLE_QUESTION
    if not is_htmx(request):
        return _editor_page(request, state, services, name, source, question)
    result = state.prompts.preview(name, source, question, sample_passages(services, question))
    return fragment(request, "admin/_prompt_preview.html", preview=result)


@router.post("/prompts/{name}", dependencies=[CsrfChecked])
def save(
    request: Request,
    user: AdminUser,
    state: AdminDep,
    services: ServicesDep,
    name: str,
    source: Source,
    question: Question = SAMPLE_QUESTION,
    note: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Saved and in use when it renders; otherwise refused with the error, the text kept in the
    editor, and the template in use unchanged."""
    name = known(state.prompts, name)
    error = state.prompts.save(name, source, user.username, note.strip())
    if error:
        question = question.strip() or SAMPLE_QUESTION
        return _editor_page(request, state, services, name, source, question, error, 422)
    accounts_of(request).audit(user, "edit-prompt", name, note.strip())
    return redirect(f"/admin/prompts/{name}", "prompt-saved", name)


@router.get("/prompts/{name}/versions/{version_id}", response_class=HTMLResponse)
def version(
    request: Request, user: AdminUser, state: AdminDep, name: str, version_id: int
) -> HTMLResponse:
    name = known(state.prompts, name)
    found = state.prompts.version(name, version_id)
    if found is None:
        raise HTTPException(404, f"No version {version_id} of {name}.")
    current = state.prompts.current(name)
    return page(
        request, "admin/prompt_version.html", "prompts", name=name, version=found, current=current
    )


@router.post("/prompts/{name}/versions/{version_id}/restore", dependencies=[CsrfChecked])
def restore(
    request: Request,
    user: AdminUser,
    state: AdminDep,
    services: ServicesDep,
    name: str,
    version_id: int,
) -> Response:
    """Save an older version again (as the newest; the history keeps everything)."""
    name = known(state.prompts, name)
    found = state.prompts.version(name, version_id)
    if found is None:
        raise HTTPException(404, f"No version {version_id} of {name}.")
    error = state.prompts.save(name, found.source, user.username, f"restored version {found.id}")
    if error:  # a version that no longer renders (the template variables changed since)
        return _editor_page(
            request, state, services, name, found.source, error=error, status_code=422
        )
    accounts_of(request).audit(user, "restore-prompt", name, f"version {found.id}")
    return redirect(f"/admin/prompts/{name}", "prompt-restored", name)


@router.post("/prompts/{name}/reset", dependencies=[CsrfChecked])
def reset(request: Request, user: AdminUser, state: AdminDep, name: str) -> Response:
    name = known(state.prompts, name)
    state.prompts.reset(name, user.username)
    accounts_of(request).audit(user, "reset-prompt", name)
    return redirect(f"/admin/prompts/{name}", "prompt-reset", name)
