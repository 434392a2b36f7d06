"""JSON API: the same Answer object as the page, as data."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from app.followup import Turn
from app.serialize import answer_dict
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


@router.post("/ask")
def ask(body: AskRequest, services: ServicesDep) -> dict[str, Any]:
    """The answer object; pass earlier turns to ask follow-up questions."""
    turns = tuple(Turn(t.question, t.answer) for t in body.conversation)
    answer = services.answerer.answer(body.question.strip(), conversation=turns)
    return answer_dict(answer)
