"""How an answer is kept in the app database, and read back to be shown again.

The stored format is docent's own, versioned (`FORMAT`) and separate from the public API's
JSON (`app.answering.api_view`), so either can change without the other. Passages are stored
with the one passage mapping (`ingest.types.passage_record`). Rows written before the format
had a version hold the API's JSON; they are still read (`_from_api_json`).

A stored answer is shown (and given to a follow-up as context) only as far as its reader may
read its sources *now*: `StoredAccess` asks the catalog for each cited document's current groups
and checks them with the same `Access.allows` that filters retrieval. `redacted` drops the
passages the reader may no longer read (a document moved to other groups, the reader removed
from a group, the document deleted) and, when the model was shown one of them, the answer's
text too: it was written from that passage. The page says how many sources went.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from app.answering.answer import Answer, Timings
from app.answering.citations import Citation
from app.answering.grounding import Grounding, Subject
from app.answering.support import Claim, Span
from ingest.access import Access
from ingest.types import Passage, passage_from_record, passage_record

FORMAT = 2

DocumentGroups = Callable[[Iterable[str]], Mapping[str, Sequence[str]]]
"""Each document's groups now; a document absent from the result is gone (deleted or not
searchable). `ingest.catalog.Catalog.searchable_groups`."""


@dataclass(frozen=True)
class StoredAccess:
    """Which documents of stored answers a reader may still read: the catalog's groups now,
    checked with the reader's access (the check retrieval uses)."""

    groups_of: DocumentGroups
    access: Access

    def readable(self, doc_ids: Iterable[str]) -> set[str]:
        groups = self.groups_of(set(doc_ids))
        return {doc_id for doc_id, names in groups.items() if self.access.allows(names)}


@dataclass(frozen=True)
class Redacted:
    answer: Answer  # without what the reader may no longer read
    hidden: int  # passages (sources) taken out
    withheld: bool  # the text went too: the model was shown a passage taken out


def redacted(answer: Answer, readable: set[str]) -> Redacted:
    """The stored `answer` as a reader who may read the documents `readable` sees it."""
    quoted = [*answer.passages, *(c.passage for c in answer.citations), *answer.dropped]
    gone = {_key(p) for p in quoted if p.doc_id not in readable}
    if not gone:
        return Redacted(answer, 0, False)
    written_from = [*answer.passages, *(c.passage for c in answer.citations)]
    withheld = any(_key(p) in gone for p in written_from)
    shown = replace(
        answer,
        passages=[p for p in answer.passages if _key(p) not in gone],
        citations=[c for c in answer.citations if _key(c.passage) not in gone],
        dropped=[p for p in answer.dropped if _key(p) not in gone],
    )
    if withheld:  # the text, the claims and any withheld draft repeat what the model was shown
        shown = replace(shown, text="", claims=[], model_text="")
    return Redacted(shown, len(gone), withheld)


def documents_of(answer: Answer) -> set[str]:
    """The documents a stored answer quotes."""
    quoted = [*answer.passages, *(c.passage for c in answer.citations), *answer.dropped]
    return {p.doc_id for p in quoted}


def _key(passage: Passage) -> tuple[str, int]:
    return passage.doc_id, passage.chunk_index


def stored(answer: Answer) -> dict[str, Any]:
    """The answer as JSON-ready data in the stored format."""
    return {
        "format": FORMAT,
        "question": answer.question,
        "text": answer.text,
        "model_text": answer.model_text,
        "search_query": answer.search_query,
        "passages": [passage_record(p) for p in answer.passages],
        "dropped": [passage_record(p) for p in answer.dropped],
        "citations": [_citation(c) for c in answer.citations],
        "claims": [_claim(c) for c in answer.claims],
        "model": answer.model,
        "adapter": answer.adapter,
        "prompt_version": answer.prompt_version,
        "timings": _timings(answer.timings),
        "reasoning": answer.reasoning,
        "evidence": answer.evidence,
        "refused": answer.refused,
        "declined": answer.declined,
        "reasked": answer.reasked,
        "first_text": answer.first_text,
        "grounding": None if answer.grounding is None else _grounding(answer.grounding),
    }


def to_json(answer: Answer) -> str:
    """The text of the `answer_json` column."""
    return json.dumps(stored(answer), ensure_ascii=False)


def from_json(text: str) -> Answer:
    """The answer back from the `answer_json` column."""
    return answer_from_stored(json.loads(text))


def answer_from_stored(data: dict[str, Any]) -> Answer:
    """The answer back from `stored` (or from an older row's API JSON)."""
    if "format" not in data:
        return _from_api_json(data)
    if data["format"] != FORMAT:
        raise ValueError(f"stored answer format {data['format']!r} is newer than this docent")
    return Answer(
        question=data["question"],
        text=data["text"],
        citations=[_citation_from(c) for c in data["citations"]],
        passages=[passage_from_record(p) for p in data["passages"]],
        model=data["model"],
        prompt_version=data["prompt_version"],
        timings=Timings(**data["timings"]),
        dropped=[passage_from_record(p) for p in data["dropped"]],
        claims=[_claim_from(c) for c in data["claims"]],
        reasoning=data["reasoning"],
        evidence=data["evidence"],
        refused=data["refused"],
        search_query=data["search_query"],
        declined=data["declined"],
        reasked=data.get("reasked", False),
        first_text=data.get("first_text", ""),
        model_text=data["model_text"],
        grounding=None if data["grounding"] is None else _grounding_from(data["grounding"]),
        adapter=data.get("adapter", ""),  # stored before adapters: none
    )


def _span(span: Span | None) -> list[int] | None:
    return None if span is None else [span.start, span.end]


def _span_from(data: list[int] | None) -> Span | None:
    return None if data is None else Span(data[0], data[1])


def _citation(citation: Citation) -> dict[str, Any]:
    return {
        "number": citation.number,
        "passage": passage_record(citation.passage),
        "by_model": citation.by_model,
        "span": _span(citation.span),
        "supported": citation.supported,
    }


def _citation_from(data: dict[str, Any]) -> Citation:
    return Citation(
        number=data["number"],
        passage=passage_from_record(data["passage"]),
        by_model=data["by_model"],
        span=_span_from(data["span"]),
        supported=data["supported"],
    )


def _claim(claim: Claim) -> dict[str, Any]:
    return {
        "sentence": claim.sentence,
        "numbers": list(claim.numbers),
        "support": claim.support,
        "supported": claim.supported,
        "span": _span(claim.span),
        "best": claim.best,
        "similarity": claim.similarity,
    }


def _claim_from(data: dict[str, Any]) -> Claim:
    return Claim(
        sentence=data["sentence"],
        numbers=tuple(data["numbers"]),
        support=data["support"],
        supported=data["supported"],
        span=_span_from(data["span"]),
        best=data["best"],
        similarity=data["similarity"],
    )


def _timings(timings: Timings) -> dict[str, Any]:
    return {
        "retrieval_ms": timings.retrieval_ms,
        "first_token_ms": timings.first_token_ms,
        "generation_ms": timings.generation_ms,
        "decode_ms": timings.decode_ms,
        "total_ms": timings.total_ms,
        "prompt_tokens": timings.prompt_tokens,
        "completion_tokens": timings.completion_tokens,
        "queued_ms": timings.queued_ms,
    }


def _subject(subject: Subject) -> dict[str, Any]:
    return {"terms": list(subject.terms), "found": list(subject.found)}


def _subject_from(data: dict[str, Any]) -> Subject:
    return Subject(tuple(data["terms"]), tuple(data["found"]))


def _grounding(grounding: Grounding) -> dict[str, Any]:
    cited = grounding.cited
    return {
        "subject": _subject(grounding.subject),
        "cited": None if cited is None else _subject(cited),
        "supported": grounding.supported,
        "reason": grounding.reason,
    }


def _grounding_from(data: dict[str, Any]) -> Grounding:
    cited = data["cited"]
    return Grounding(
        subject=_subject_from(data["subject"]),
        cited=None if cited is None else _subject_from(cited),
        supported=data["supported"],
        reason=data["reason"],
    )


# --- rows written before the stored format (the public API's JSON) ---------------------------
def _from_api_json(data: dict[str, Any]) -> Answer:
    """An answer from the API's JSON, as stored before `FORMAT`: what the page shows comes
    back; what that JSON left out (a claim's span, a passage's point id and version) is empty."""
    return Answer(
        question=data["question"],
        text=data["answer"],
        citations=[_api_citation(c) for c in data.get("citations", [])],
        passages=[_api_passage(p) for p in data.get("passages", [])],
        model=data.get("model", ""),
        prompt_version=data.get("prompt_version", ""),
        timings=_api_timings(data.get("timings", {})),
        dropped=[_api_passage(p) for p in data.get("dropped_passages", [])],
        claims=[_api_claim(c) for c in data.get("claims", [])],
        evidence=data.get("evidence"),
        refused=bool(data.get("refused", False)),
        declined=data.get("declined") or "",
        model_text=data.get("withheld_answer") or "",
        search_query=data.get("search_query"),
    )


def _api_passage(data: dict[str, Any]) -> Passage:
    point = f"{data['document_id']}-{data['chunk_index']}"
    renamed = {"point_id": point, "doc_id": data["document_id"]}
    return passage_from_record({k: v for k, v in data.items() if k != "document_id"} | renamed)


def _api_citation(data: dict[str, Any]) -> Citation:
    span = data.get("span")
    return Citation(
        number=data["number"],
        passage=_api_passage(data),
        by_model=data.get("by_model", True),
        span=None if span is None else Span(span["start"], span["end"]),
        supported=data.get("supported", True),
    )


def _api_claim(data: dict[str, Any]) -> Claim:
    return Claim(
        sentence=data["sentence"],
        numbers=tuple(data.get("cites", ())),
        support=data.get("support", 0.0),
        supported=data.get("supported", True),
        span=None,
        best=None,
    )


def _api_timings(data: dict[str, Any]) -> Timings:
    return Timings(
        retrieval_ms=data.get("retrieval_ms", 0.0),
        first_token_ms=data.get("first_token_ms"),
        generation_ms=data.get("generation_ms", 0.0),
        decode_ms=data.get("decode_ms", 0.0),
        total_ms=data.get("total_ms", 0.0),
        prompt_tokens=data.get("prompt_tokens", 0),
        completion_tokens=data.get("completion_tokens", 0),
    )
