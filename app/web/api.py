"""JSON API: the same Answer object as the page, as data."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from app.followup import Turn
from app.serialize import answer_dict
from app.web.auth import CsrfChecked, CurrentUser
from app.web.chat import MAX_QUESTION_CHARS
from app.web.deps import ServicesDep

router = APIRouter(prefix="/api/v1")


class TurnIn(BaseModel):
    question: str = Field(max_length=MAX_QUESTION_CHARS)
    answer: str = Field(max_length=8000)


class AskRequest(BaseModel):
    question: str = Field(min_length=1, max_length=MAX_QUESTION_CHARS)
    conversation: list[TurnIn] = Field(
        default_factory=list, max_length=20, description="Earlier turns, oldest first"
    )


@router.post("/ask", dependencies=[CsrfChecked])
def ask(body: AskRequest, services: ServicesDep, user: CurrentUser) -> dict[str, Any]:
    """The answer object, from the documents the caller may read; pass earlier turns to ask
    follow-up questions. Authenticate with `Authorization: Bearer <API token>` (or a session
    cookie plus its `X-CSRF-Token`)."""
    turns = tuple(Turn(t.question, t.answer) for t in body.conversation)
    answer = services.answerer.answer(body.question.strip(), access=user.access, conversation=turns)
    return answer_dict(answer)
