"""The Answer as plain JSON-ready data, shared by the JSON API and `docent ask --json`."""

from __future__ import annotations

from pathlib import PurePath
from typing import Any

from app.answering.answer import Answer
from app.answering.citations import Citation
from app.answering.grounding import Grounding
from app.answering.support import Claim
from ingest.types import Passage


def source_name(source: str) -> str:
    """What readers are shown of a document's source: its file name, never the server's path
    (the file itself is at /documents/{document_id}/file, by id)."""
    return PurePath(source).name


def passage_dict(passage: Passage) -> dict[str, Any]:
    return {
        "document_id": passage.doc_id,
        "title": passage.title,
        "source": source_name(passage.source),
        "location": passage.location,
        "page_start": passage.page_start,
        "page_end": passage.page_end,
        "headings": list(passage.headings),
        "chunk_index": passage.chunk_index,
        "start": passage.start,
        "end": passage.end,
        "score": round(passage.score, 4),
        "text": passage.text,
    }


def citation_dict(citation: Citation) -> dict[str, Any]:
    span = citation.span
    return {
        "number": citation.number,
        "by_model": citation.by_model,
        "supported": citation.supported,
        "span": None if span is None else {"start": span.start, "end": span.end},
    } | passage_dict(citation.passage)


def claim_dict(claim: Claim) -> dict[str, Any]:
    return {
        "sentence": claim.sentence,
        "cites": list(claim.numbers),
        "supported": claim.supported,
        "support": round(claim.support, 3),
    }


def grounding_dict(grounding: Grounding | None) -> dict[str, Any] | None:
    if grounding is None:
        return None
    cited = grounding.cited
    return {
        "subject_terms": list(grounding.subject.terms),
        "subject_coverage": round(grounding.subject.coverage, 3),
        "cited_coverage": None if cited is None else round(cited.coverage, 3),
        "missing_terms": list((cited or grounding.subject).missing),
        "unknown_names": list(grounding.subject.unknown),
        "supported_share": None if grounding.supported is None else round(grounding.supported, 3),
        "unknown_options": list(grounding.unknown_options),
    }


def answer_dict(answer: Answer) -> dict[str, Any]:
    t = answer.timings
    return {
        "question": answer.question,
        "search_query": answer.search_query,
        "answer": answer.text,
        "found": answer.found,
        "refused": answer.refused,
        "declined": answer.declined or None,
        "declined_because": answer.declined_because or None,
        "withheld_answer": answer.model_text if answer.declined and answer.model_text else None,
        "reasked": answer.reasked,
        "first_answer": answer.first_text if answer.reasked else None,
        "grounding": grounding_dict(answer.grounding),
        "evidence": None if answer.evidence is None else round(answer.evidence, 3),
        "citations": [citation_dict(c) for c in answer.citations],
        "claims": [claim_dict(c) for c in answer.claims],
        "unsupported_claims": len(answer.unsupported_claims),
        "passages": [passage_dict(p) for p in answer.passages],
        "dropped_passages": [passage_dict(p) for p in answer.dropped],
        "model": answer.model,
        "adapter": answer.adapter or None,
        "prompt_version": answer.prompt_version,
        "timings": {
            "retrieval_ms": round(t.retrieval_ms, 1),
            "first_token_ms": None if t.first_token_ms is None else round(t.first_token_ms, 1),
            "generation_ms": round(t.generation_ms, 1),
            "decode_ms": round(t.decode_ms, 1),
            "total_ms": round(t.total_ms, 1),
            "prompt_tokens": t.prompt_tokens,
            "completion_tokens": t.completion_tokens,
            "tokens_per_second": t.tokens_per_second and round(t.tokens_per_second, 2),
        },
    }
