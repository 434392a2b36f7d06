"""JSON API: the same Answer object as the page, as data."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from app.serialize import answer_dict
from app.web.chat import MAX_QUESTION_CHARS
from app.web.deps import ServicesDep

router = APIRouter(prefix="/api/v1")


class AskRequest(BaseModel):
    question: str = Field(min_length=1, max_length=MAX_QUESTION_CHARS)


@router.post("/ask")
def ask(body: AskRequest, services: ServicesDep) -> dict[str, Any]:
    return answer_dict(services.answerer.answer(body.question.strip()))
