"""Turn the model's [n] markers into citations of the passages it was shown.

Only markers change: the model's words, code, URLs and numbers are never touched, and a bracket
that is data (`sys.argv[1]`, `tuple([1, 2, 3])`, anything in code) is not a marker (see
`answer_text`). Markers that name no passage are removed. A sentence the model left uncited
is attributed to the passage that contains most of its words, when one clearly does (small
models often forget to cite), and a cited sentence that its passage does not confirm but
another passage shown does is re-cited to that one (small models often cite the wrong number);
such citations are marked `by_model=False` so the UI can say docent added them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from app.answering.answer_text import (
    Marker,
    citation_point,
    edited,
    markers,
    markers_in,
    segments,
    takes_a_marker,
)
from app.answering.support import (
    SUPPORT_THRESHOLD,
    Claim,
    Span,
    best_span,
    claims,
    contradicted,
)
from ingest.embed import Embedder
from ingest.sparse import terms
from ingest.types import Passage

ATTRIBUTION_THRESHOLD = 0.6  # share of a sentence's words found in the passage
MIN_ATTRIBUTION_TERMS = 3


@dataclass(frozen=True)
class Citation:
    number: int  # as shown in the answer text
    passage: Passage
    by_model: bool = True
    span: Span | None = None  # the stretch of the passage that supports the citing sentence
    supported: bool = True  # some sentence citing it is backed by the passage


def cited_numbers(text: str) -> list[int]:
    """Every number the text's citation markers name, in order of first appearance."""
    seen: dict[int, None] = {}
    for marker in markers(text):
        for number in marker.numbers:
            seen.setdefault(number, None)
    return list(seen)


def without_markers(text: str) -> str:
    """The text with its citation markers (and the spaces before them) taken out."""
    return edited(text, {m: "" for m in markers(text)})


def strip_invalid_markers(text: str, passage_count: int) -> str:
    """Markers keep only the numbers of passages shown ([2, 9] -> [2]; [9] goes, with the
    space before it); [1, 2] is written [1][2]. Nothing else changes."""
    edits: dict[Marker, str] = {}
    for marker in markers(text):
        valid = [n for n in marker.numbers if 1 <= n <= passage_count]
        lead = text[marker.start - marker.lead : marker.start]
        written = lead + "".join(f"[{n}]" for n in valid) if valid else ""
        if written != text[marker.start - marker.lead : marker.end]:
            edits[marker] = written
    return edited(text, edits)


def attribute_uncited(text: str, passages: Sequence[Passage]) -> tuple[str, set[int]]:
    """Add [n] at the end of each uncited sentence that one passage clearly supports."""
    added: set[int] = set()
    vocabularies = [set(terms(p.text)) for p in passages]
    found = markers(text)
    insertions: list[tuple[int, str]] = []
    for segment in segments(text):
        if not takes_a_marker(text, segment) or markers_in(found, segment):
            continue
        number = best_support(text[segment.start : segment.end], vocabularies)
        if number is None:
            continue
        added.add(number)
        at = citation_point(text, segment)
        space = "" if at and text[at - 1].isspace() else " "  # "trailing ?" -> "trailing [1]?"
        insertions.append((at, f"{space}[{number}]"))
    for at, marker in reversed(insertions):
        text = text[:at] + marker + text[at:]
    return text, added


def repoint_unsupported(text: str, passages: Sequence[Passage]) -> str:
    """A sentence whose cited passages do not support it, but another shown passage does,
    gets its markers replaced by one marker of that passage (small models often cite the
    wrong number)."""
    found = markers(text)
    edits: dict[Marker, str] = {}
    for segment in segments(text):
        own = markers_in(found, segment)
        numbers = [n for m in own for n in m.numbers if 1 <= n <= len(passages)]
        if segment.code or not numbers:
            continue
        plain = without_markers(text[segment.start : segment.end])
        if any(contradicted(plain, passages[n - 1].text) for n in numbers):
            continue  # its passage says no: flagged, never pointed elsewhere
        support = [best_span(plain, p.text)[1] for p in passages]
        if max(support[n - 1] for n in numbers) >= SUPPORT_THRESHOLD:
            continue
        best = max(range(len(passages)), key=lambda i: support[i])
        if support[best] < SUPPORT_THRESHOLD:
            continue  # supported nowhere: left as cited, and flagged by the check
        first = own[0]
        edits[first] = text[first.start - first.lead : first.start] + f"[{best + 1}]"
        edits.update({m: "" for m in own[1:]})
    return edited(text, edits)


def repoint_by_meaning(
    text: str, passages: Sequence[Passage], checked: Sequence[Claim], embedder: Embedder
) -> str:
    """A cited sentence that the full check (words, numbers, names and meaning) does not
    confirm in the passages it cites, but does confirm in another passage shown, is re-cited
    to that passage: `repoint_unsupported` goes by words alone, and a passage holding most of
    a sentence's words can still say something else ("The default value of HISTSIZE is 500."
    cited to HISTSIZE's entry, while the 500 is in the HISTORY section shown beside it)."""
    unsupported = {c.sentence for c in checked if not c.supported}
    found = markers(text)
    edits: dict[Marker, str] = {}
    for segment in segments(text):
        own = markers_in(found, segment)
        if segment.code or not own:
            continue
        sentence = edited(text, dict.fromkeys(own, ""), segment.start, segment.end).strip()
        if sentence not in unsupported:
            continue
        cited = {n for m in own for n in m.numbers}
        if any(contradicted(sentence, passages[n - 1].text) for n in cited if n <= len(passages)):
            continue  # its passage says no: flagged, never pointed elsewhere
        held = {
            n: best_span(sentence, passages[n - 1].text)[1]
            for n in range(1, len(passages) + 1)
            if n not in cited
        }
        for number in sorted(held, key=lambda n: -held[n]):
            if held[number] < SUPPORT_THRESHOLD:
                break  # the rest hold even fewer of its words
            again = claims(f"{sentence} [{number}]", passages, embedder)
            if again and all(c.supported for c in again):
                first = own[0]
                edits[first] = text[first.start - first.lead : first.start] + f"[{number}]"
                edits.update({m: "" for m in own[1:]})
                break
    return edited(text, edits) if edits else text


def best_support(sentence: str, vocabularies: Sequence[set[str]]) -> int | None:
    words = set(terms(sentence))
    if len(words) < MIN_ATTRIBUTION_TERMS:
        return None
    shares = [len(words & vocabulary) / len(words) for vocabulary in vocabularies]
    if not shares or max(shares) < ATTRIBUTION_THRESHOLD:
        return None
    return shares.index(max(shares)) + 1


def resolve(
    text: str, passages: Sequence[Passage], embedder: Embedder | None = None
) -> tuple[str, list[Citation], list[Claim]]:
    """The final text, its citations in order of first mention, and its checked claims
    (checked by meaning too when an embedder is given)."""
    cleaned = strip_invalid_markers(text, len(passages))
    repointed = repoint_unsupported(cleaned, passages)
    final, _ = attribute_uncited(repointed, passages)
    checked = claims(final, passages, embedder)
    if embedder is not None and not all(c.supported for c in checked):
        rechecked = repoint_by_meaning(final, passages, checked, embedder)
        if rechecked != final:
            final, checked = rechecked, claims(rechecked, passages, embedder)
    model_cited = set(cited_numbers(cleaned)) & set(cited_numbers(final))
    citations = [
        _citation(n, passages[n - 1], n in model_cited, checked) for n in cited_numbers(final)
    ]
    return final, citations, checked


def _citation(number: int, passage: Passage, by_model: bool, checked: list[Claim]) -> Citation:
    citing = [c for c in checked if number in c.numbers]
    spans = [c.span for c in citing if c.best == number and c.span is not None]
    supported = any(c.supported and c.best == number for c in citing)
    return Citation(number, passage, by_model, spans[0] if spans else None, supported)
