"""Turn the model's [n] markers into citations of the passages it was shown.

Markers that name no passage are removed. A sentence the model left uncited is attributed to
the passage that contains most of its words, when one clearly does (small models often forget
to cite); such citations are marked `by_model=False` so the UI can say docent added them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from app.support import SUPPORT_THRESHOLD, Claim, Span, best_span, claims
from ingest.embed import Embedder
from ingest.sparse import terms
from ingest.types import Passage

_MARKER = re.compile(r"\[(\d+(?:\s*,\s*\d+)*)\]")
_SENTENCE = re.compile(r"[^.!?\n]+[.!?]*(?:\s*\[\d[\d,\s]*\])*")
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
    """Every number inside [n] or [n, m] markers, in order of first appearance."""
    seen: dict[int, None] = {}
    for match in _MARKER.finditer(text):
        for part in match.group(1).split(","):
            seen.setdefault(int(part), None)
    return list(seen)


def strip_invalid_markers(text: str, passage_count: int) -> str:
    def keep_valid(match: re.Match[str]) -> str:
        numbers = [int(p) for p in match.group(1).split(",")]
        return "".join(f"[{n}]" for n in numbers if 1 <= n <= passage_count)

    return _MARKER.sub(keep_valid, text)


def attribute_uncited(text: str, passages: Sequence[Passage]) -> tuple[str, set[int]]:
    """Append [n] to uncited sentences that one passage clearly supports."""
    added: set[int] = set()
    vocabularies = [set(terms(p.text)) for p in passages]

    def attribute(match: re.Match[str]) -> str:
        sentence = match.group(0)
        if _MARKER.search(sentence):
            return sentence
        number = best_support(sentence, vocabularies)
        if number is None:
            return sentence
        added.add(number)
        body = sentence.rstrip()
        trailing = sentence[len(body) :]
        end = len(body.rstrip(".!?"))
        return f"{body[:end]} [{number}]{body[end:]}{trailing}"

    return _SENTENCE.sub(attribute, text), added


def repoint_unsupported(text: str, passages: Sequence[Passage]) -> str:
    """A sentence whose cited passages do not support it, but another shown passage does,
    gets its marker pointed at that passage (small models often cite the wrong number)."""

    def repoint(match: re.Match[str]) -> str:
        sentence = match.group(0)
        numbers = [int(p) for m in _MARKER.finditer(sentence) for p in m.group(1).split(",")]
        if not numbers:
            return sentence
        plain = _MARKER.sub("", sentence)
        support = [best_span(plain, p.text)[1] for p in passages]
        if max(support[n - 1] for n in numbers) >= SUPPORT_THRESHOLD:
            return sentence
        best = max(range(len(passages)), key=lambda i: support[i])
        if support[best] < SUPPORT_THRESHOLD:
            return sentence  # supported nowhere: left as cited, and flagged by the check
        first = _MARKER.search(sentence)
        assert first is not None
        rest = _MARKER.sub("", sentence[first.end() :])
        return f"{sentence[: first.start()]}[{best + 1}]{rest}"

    return _SENTENCE.sub(repoint, text)


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
    model_cited = set(cited_numbers(cleaned)) & set(cited_numbers(repointed))
    final, _ = attribute_uncited(repointed, passages)
    checked = claims(final, passages, embedder)
    citations = [
        _citation(n, passages[n - 1], n in model_cited, checked) for n in cited_numbers(final)
    ]
    return final, citations, checked


def _citation(number: int, passage: Passage, by_model: bool, checked: list[Claim]) -> Citation:
    citing = [c for c in checked if number in c.numbers]
    spans = [c.span for c in citing if c.best == number and c.span is not None]
    supported = any(c.supported and c.best == number for c in citing)
    return Citation(number, passage, by_model, spans[0] if spans else None, supported)
