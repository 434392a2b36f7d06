"""JSON API: the same Answer object as the page, as data."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from app.answering.api_view import answer_dict
from app.answering.followup import Turn
from app.documents.filters import FilterError, search_filters
from app.generation.generator import GenerationFailed, ModelBusy
from app.web.asking import take_slot
from app.web.auth import CsrfChecked, CurrentUser
from app.web.deps import ServicesDep
from app.web.pages import MAX_QUESTION_CHARS
from app.web.recording import keep
from app.web.streaming import finished
from ingest.types import SearchFilters

router = APIRouter(prefix="/api/v1")


class TurnIn(BaseModel):
    question: str = Field(max_length=MAX_QUESTION_CHARS)
    answer: str = Field(max_length=8000)


class FiltersIn(BaseModel):
    """Narrow the search (each kind given must match; any value within a kind)."""

    documents: list[str] = Field(default_factory=list, max_length=100, description="Ids or paths")
    types: list[str] = Field(default_factory=list, max_length=20, description="e.g. pdf, md")
    tags: list[str] = Field(default_factory=list, max_length=50)
    modified_since: datetime | None = None
    modified_before: datetime | None = None
    ingested_since: datetime | None = None
    ingested_before: datetime | None = None

    def checked(self) -> SearchFilters | None:
        try:
            return search_filters(
                documents=self.documents,
                file_types=self.types,
                tags=self.tags,
                modified_since=self.modified_since,
                modified_before=self.modified_before,
                ingested_since=self.ingested_since,
                ingested_before=self.ingested_before,
            )
        except FilterError as exc:
            raise HTTPException(422, f"filters: {exc}") from exc


class AskRequest(BaseModel):
    question: str = Field(min_length=1, max_length=MAX_QUESTION_CHARS)
    conversation: list[TurnIn] = Field(
        default_factory=list, max_length=20, description="Earlier turns, oldest first"
    )
    filters: FiltersIn | None = Field(None, description="Search only some documents")


@router.post("/ask", dependencies=[CsrfChecked])
async def ask(
    request: Request, body: AskRequest, services: ServicesDep, user: CurrentUser
) -> dict[str, Any]:
    """The answer object, from the documents the caller may read; pass earlier turns to ask
    follow-up questions. Authenticate with `Authorization: Bearer <API token>` (or a session
    cookie plus its `X-CSRF-Token`). `429` (with `Retry-After`) while the caller already has
    DOCENT_MAX_QUEUED_PER_USER answers waiting or being written."""
    turns = tuple(Turn(t.question, t.answer) for t in body.conversation)
    filters = body.filters.checked() if body.filters else None
    try:
        with take_slot(request, user.id):
            events = services.answerer.stream(
                body.question.strip(), access=user.access, conversation=turns, filters=filters
            )
            answer = await finished(events)  # waits in line without a thread
    except ModelBusy as exc:  # every slot stayed taken past DOCENT_QUEUE_TIMEOUT
        raise HTTPException(503, str(exc), headers={"Retry-After": "30"}) from exc
    except GenerationFailed as exc:  # the model server cannot be reached
        raise HTTPException(503, str(exc)) from exc
    await run_in_threadpool(keep, services, user, answer, "api")
    return answer_dict(answer)
