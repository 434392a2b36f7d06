"""An `Answer` back from its stored JSON (`app.answering.api_view.answer_dict`), to show it again,
and what of it its reader may still see.

The JSON leaves out what the page does not show (a claim's span, a passage's point id and
version); those come back empty.

A stored answer is shown (and given to a follow-up as context) only as far as its reader may
read its sources *now*: `StoredAccess` asks the catalog for each cited document's current groups
and checks them with the same `Access.allows` that filters retrieval. `redacted` drops the
passages the reader may no longer read (a document moved to other groups, the reader removed
from a group, the document deleted) and, when the model was shown one of them, the answer's
text too: it was written from that passage. The page says how many sources went.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from app.answering.answer import Answer, Timings
from app.answering.citations import Citation
from app.answering.support import Claim, Span
from ingest.access import Access
from ingest.types import Passage

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
    data: dict[str, Any]  # the answer JSON without what the reader may no longer read
    hidden: int  # passages (sources) taken out
    withheld: bool  # the text went too: the model was shown a passage taken out


def redacted(data: dict[str, Any], readable: set[str]) -> Redacted:
    """The stored answer `data` as a reader who may read the documents `readable` sees it."""
    lists = ("passages", "citations", "dropped_passages")
    gone = {
        _key(p) for name in lists for p in data.get(name) or () if p["document_id"] not in readable
    }
    if not gone:
        return Redacted(data, 0, False)
    shown = {n: [p for p in data.get(n) or () if _key(p) not in gone] for n in lists}
    written_from = [*(data.get("passages") or ()), *(data.get("citations") or ())]
    withheld = any(_key(p) in gone for p in written_from)
    out = data | shown
    if withheld:  # the text, the claims and any withheld draft repeat what the model was shown
        out |= {"answer": "", "claims": [], "withheld_answer": None, "unsupported_claims": 0}
    return Redacted(out, len(gone), withheld)


def documents_of(data: dict[str, Any]) -> set[str]:
    """The documents a stored answer quotes."""
    lists = ("passages", "citations", "dropped_passages")
    return {p["document_id"] for name in lists for p in data.get(name) or ()}


def _key(passage: dict[str, Any]) -> tuple[str, int]:
    return passage["document_id"], passage["chunk_index"]


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
