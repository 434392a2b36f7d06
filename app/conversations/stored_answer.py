"""An `Answer` back from its stored JSON (`app.answering.api_view.answer_dict`), to show it again.

The JSON leaves out what the page does not show (a claim's span, a passage's point id and
version); those come back empty.
"""

from __future__ import annotations

from typing import Any

from app.answering.answer import Answer, Timings
from app.answering.citations import Citation
from app.answering.support import Claim, Span
from ingest.types import Passage


def answer_from_dict(data: dict[str, Any]) -> Answer:
    return Answer(
        question=data["question"],
        text=data["answer"],
        citations=[citation_from_dict(c) for c in data.get("citations", [])],
        passages=[passage_from_dict(p) for p in data.get("passages", [])],
        model=data.get("model", ""),
        prompt_version=data.get("prompt_version", ""),
        timings=timings_from_dict(data.get("timings", {})),
        dropped=[passage_from_dict(p) for p in data.get("dropped_passages", [])],
        claims=[claim_from_dict(c) for c in data.get("claims", [])],
        evidence=data.get("evidence"),
        refused=bool(data.get("refused", False)),
        declined=data.get("declined") or "",
        model_text=data.get("withheld_answer") or "",
        search_query=data.get("search_query"),
    )


def passage_from_dict(data: dict[str, Any]) -> Passage:
    return Passage(
        point_id=f"{data['document_id']}-{data['chunk_index']}",
        doc_id=data["document_id"],
        chunk_index=data["chunk_index"],
        text=data["text"],
        title=data["title"],
        source=data["source"],
        headings=tuple(data.get("headings", ())),
        page_start=data.get("page_start"),
        page_end=data.get("page_end"),
        start=data.get("start", 0),
        end=data.get("end", 0),
        score=data.get("score", 0.0),
    )


def citation_from_dict(data: dict[str, Any]) -> Citation:
    span = data.get("span")
    return Citation(
        number=data["number"],
        passage=passage_from_dict(data),
        by_model=data.get("by_model", True),
        span=None if span is None else Span(span["start"], span["end"]),
        supported=data.get("supported", True),
    )


def claim_from_dict(data: dict[str, Any]) -> Claim:
    return Claim(
        sentence=data["sentence"],
        numbers=tuple(data.get("cites", ())),
        support=data.get("support", 0.0),
        supported=data.get("supported", True),
        span=None,
        best=None,
    )


def timings_from_dict(data: dict[str, Any]) -> Timings:
    return Timings(
        retrieval_ms=data.get("retrieval_ms", 0.0),
        first_token_ms=data.get("first_token_ms"),
        generation_ms=data.get("generation_ms", 0.0),
        decode_ms=data.get("decode_ms", 0.0),
        total_ms=data.get("total_ms", 0.0),
        prompt_tokens=data.get("prompt_tokens", 0),
        completion_tokens=data.get("completion_tokens", 0),
    )
