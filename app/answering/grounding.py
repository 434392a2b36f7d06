"""Is the answer grounded in the passages? Checked before generation (is any passage about what
the question asks?) and after (does the answer cite passages that say what it says?).

The question's subject is its distinctive terms: its content words without the generic words of
questions ("how", "use", "configure"), stemmed like the keyword index. A passage set that names
too few of them is about something else: a question on a product the documents never mention
gets no answer, even when the passages share its generic words. A question that names
something no document uses at all (app.answering.unknown_names) is declined whatever the
share. After generation, an answer is
grounded when it cites at least one passage, enough of its cited sentences are supported by the
passages they cite (app.answering.support), and the passages it cites name the subject.

The thresholds were chosen on the answer set in eval/debian-docs (README "Refusals"):
`tests/bench/calibrate_refusal.py` reports false refusals and false answers for each.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import cache

from app.answering.acronyms import acronyms, written_out
from app.answering.answer_text import inline_code, markers, markers_in, segments
from app.answering.support import (
    Claim,
    code_names,
    named,
    states_nothing,
    without_outline_numbers,
)
from app.answering.unknown_names import DEFAULT_RARE_BELOW, looks_like_a_name
from ingest.sparse import terms, words
from ingest.types import Passage

# words that say what kind of question it is, not what it is about (stemmed before use)
_GENERIC = """
how what which who whom whose when where why can could would should shall will may might must
many much long often
do does did done doing use used using get got make made need want way ways possible work works
find show tell know mean means happen happens default set setting settings option options
thing things someone something anyone anything help example examples difference differ different
possibl instead also still else ever every again like want wants wanted correct right best good
doesn't don't isn't can't won't aren't didn't actual actually meant purpose
there here it its able try tried run running version"""

_SHORT_COMMAND = 3  # words in a code span read as a command and its settings


@dataclass(frozen=True)
class Subject:
    """The question's distinctive terms and how many of them the passages name."""

    terms: tuple[str, ...]
    found: tuple[str, ...]  # named by the passages
    unknown: tuple[str, ...] = ()  # the question's names that no document uses (its words)

    @property
    def coverage(self) -> float:
        """Share of the subject's terms found (1.0 for a question with none)."""
        return len(self.found) / len(self.terms) if self.terms else 1.0

    @property
    def missing(self) -> tuple[str, ...]:
        return tuple(t for t in self.terms if t not in self.found)


@dataclass(frozen=True)
class GroundingOptions:
    """Thresholds (0 turns a check off); built from the settings."""

    min_subject_coverage: float = 0.0  # before generation, over the passages retrieved
    rare_name_below: float = 0.0  # Zipf frequency under which an unused word is a name; 0: off
    min_cited_coverage: float = 0.0  # after, over the passages the answer cites
    min_supported: float = 0.0  # share of the answer's cited sentences that are supported
    unknown_options: bool = False  # decline an answer naming an option no passage contains
    require_citation: bool = False


@dataclass(frozen=True)
class Grounding:
    """What the checks measured, and the reason to decline ("" when grounded)."""

    subject: Subject  # over the passages retrieved
    cited: Subject | None = None  # over the passages cited (None before generation)
    supported: float | None = None  # share of cited sentences supported
    reason: str = ""
    unknown_options: tuple[str, ...] = ()  # options the answer names that no passage contains


REASONS = {
    "weak_evidence": "the closest passages were not close enough to answer from",
    "unknown_name": "the question names something no document mentions",
    "off_subject": "no passage found is about what the question asks",
    "uncited": "the answer cites none of the passages for what it states",
    "unsupported": "the passages cited do not say what the answer says",
    "cited_off_subject": "the passages cited are not about what the question asks",
    "unknown_option": "the answer names an option or setting that none of the passages mentions",
    "doubted": "the model leaned to saying it could not find the answer, and the passages do not "
    "confirm what it wrote instead",
}


def subject(question: str, passages: Sequence[Passage]) -> Subject:
    wanted = subject_terms(question)
    texts = [without_outline_numbers("\n".join((p.title, *p.headings, p.text))) for p in passages]
    named: set[str] = set()
    for text in texts:
        named.update(terms(text))
    missing = {t for t in wanted if t not in named}
    written = {a.lower() for a in acronyms(question)} & missing  # "cfo", lower-cased as `terms`
    spelled = {a for a in written if written_out(a, texts)}
    return Subject(wanted, tuple(t for t in wanted if t in named or t in spelled))


def subject_terms(question: str) -> tuple[str, ...]:
    """The question's distinctive terms, stemmed, each once, in order."""
    generic = _generic()
    seen: dict[str, None] = {}
    for term in terms(question):
        if term not in generic and len(term) > 1:
            seen.setdefault(term, None)
    return tuple(seen)


def missing_words(question: str, found: Subject) -> dict[str, str]:
    """The subject's terms the passages do not name, each with the question's word for it."""
    spelled: dict[str, str] = {}
    for term, word in zip(terms(question), words(question), strict=True):
        spelled.setdefault(term, word)
    return {t: spelled.get(t, t) for t in found.missing}


def before_generation(
    question: str,
    passages: Sequence[Passage],
    options: GroundingOptions,
    unknown: Callable[[Subject], tuple[str, ...]] | None = None,
) -> Grounding:
    """`unknown` says which of the question's words no document uses (given the subject)."""
    found = subject(question, passages)
    names = unknown(found) if unknown is not None and found.missing else ()
    if names:
        return Grounding(replace(found, unknown=names), reason="unknown_name")
    reason = "off_subject" if found.coverage < options.min_subject_coverage else ""
    return Grounding(found, reason=reason)


def after_generation(
    question: str,
    earlier: Grounding,
    passages: Sequence[Passage],
    cited: Sequence[int],
    claims: Sequence[Claim],
    options: GroundingOptions,
    text: str = "",
    overruled: bool = False,
) -> Grounding:
    """The check of a written answer `text` citing passages `cited` (numbers from 1).
    `overruled`: the model's likeliest first token opened the "not found" reply and was ruled
    out (`app.generation.opening`); such an answer stands only when one of its cited sentences
    is supported."""
    cited_subject = subject(question, [passages[n - 1] for n in cited if 1 <= n <= len(passages)])
    supported = sum(c.supported for c in claims) / len(claims) if claims else None
    unknown = (
        unknown_options(text, passages, options.rare_name_below) if options.unknown_options else ()
    )
    reason = ""
    if overruled and not any(c.supported for c in claims):
        reason = "doubted"
    elif options.require_citation and (not cited or cites_no_fact(text, claims, passages)):
        reason = "uncited"
    elif supported is not None and supported < options.min_supported:
        reason = "unsupported"
    elif cited and cited_subject.coverage < options.min_cited_coverage:
        reason = "cited_off_subject"
    elif unknown:
        reason = "unknown_option"
    return Grounding(earlier.subject, cited_subject, supported, reason, unknown)


def cites_no_fact(text: str, claims: Sequence[Claim], passages: Sequence[Passage]) -> bool:
    """Whether the answer's markers stand only on lines that state nothing (a pointer to a
    source, a lead-in with no code after it) while a sentence without one states something:
    "The shortcut for adding multiple cursors in nano is `Ctrl + Shift + M`. This can be found
    in the section "3.7 Using the Mouse" of the source [2]." cites none of its facts. A code
    block counts as cited by the lead-in before it ("use the command [1]:")."""
    if claims:
        return False
    parts = segments(text)
    if any(part.code for part in parts):
        return False
    found = markers(text)
    return any(
        not markers_in(found, part) and not states_nothing(text[part.start : part.end], passages)
        for part in parts
    )


def unknown_options(
    text: str, passages: Sequence[Passage], rare_below: float = DEFAULT_RARE_BELOW
) -> tuple[str, ...]:
    """The command-line options and settings the answer's sentences set as code that no
    passage contains: an option the documents never mention (`-c`, `--continue`) is the
    model's invention or its memory of another program ("wget -c" offered from curl's FAQ),
    and so is a name the documents never use after a command they do use (`set fontsize 14`
    offered from a page that documents `set`; a name as `app.answering.unknown_names` judges
    one, rarer in English than `rare_below`, so `git stash pop` is not read for it). Code
    blocks are not read: their other words are the answer's own placeholders, and so are the
    later words of longer spans."""
    shown = [p.text for p in passages]
    found: dict[str, None] = {}
    for segment in segments(text):
        if segment.code:
            continue
        sentence = text[segment.start : segment.end]
        options = [name for name in sorted(code_names(sentence)) if name.startswith("-")]
        for name in options + _setting_words(sentence, shown, rare_below):
            if not any(named(name, passage) for passage in shown):
                found.setdefault(name, None)
    return tuple(found)


def _setting_words(sentence: str, shown: Sequence[str], rare_below: float) -> list[str]:
    """The later words that look like names in each short command in `sentence` (`set
    fontsize 14`: "fontsize") whose first word a passage names."""
    words: list[str] = []
    for span in inline_code(sentence):
        parts = span.split()
        if not 2 <= len(parts) <= _SHORT_COMMAND or not all(map(_plain_word, parts)):
            continue
        if any(named(parts[0], passage) for passage in shown):
            words.extend(
                p for p in parts[1:] if not p.isdigit() and looks_like_a_name(p, rare_below)
            )
    return words


def _plain_word(part: str) -> bool:
    return part.isdigit() or part.isidentifier()


@cache
def _generic() -> frozenset[str]:
    return frozenset(terms(_GENERIC)) | frozenset(_GENERIC.split())
