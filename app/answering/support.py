"""Check each cited sentence against the passage it cites, and find the supporting span.

A claim is supported when most of its content words occur in one stretch of the cited passage
(a sentence, or two neighbouring ones), every number it states occurs there too (a wrong number
is the commonest way a fluent answer misquotes its source), so does every name it sets as code
(an option, parameter or function the passage does not name is invented: "the `js` parameter"
of a library that has none, `-show_format json` for ffprobe's JSON writer), and — when an
embedder is given — its meaning is close to that stretch's: shared words alone let "work from
home" pass on a passage about working from abroad. The similarity threshold was chosen on
labelled sentence pairs from the demo documents (tests/bench/calibrate_support.py).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from itertools import pairwise

from app.answering.answer_text import edited, inline_code, markers, markers_in, segments
from ingest.embed import Embedder
from ingest.sparse import terms
from ingest.types import Passage

SUPPORT_THRESHOLD = 0.5  # share of the sentence's content words found in the span
SIMILARITY_THRESHOLD = 0.64  # cosine between the sentence and its span (embedder's vectors)
WORDS_SUFFICE = 0.8  # a sentence this much of whose words (and all numbers) one stretch holds
# is supported without the meaning check: MiniLM scores close paraphrases ("work from home" for
# "work remotely", 0.63) below the threshold (calibrate_support: 49/50 supported kept, against
# 48/50 with the meaning check on every sentence; wrong claims passing 27/43 against 25/43)
# a sentence or line of a passage (lines of lists count too); a stop followed by a letter or
# digit ends nothing: "https://myaccount.google.com", "sources.list(5)", "random.choice", "2.5"
_SENTENCE = re.compile(r"(?:[^.!?\n]|[.!?](?=[\w/]))+(?:[.!?]+|$)", re.MULTILINE)
_WORD = re.compile(r"\w+")
_DIGITS = re.compile(r"\d")
_OUTLINE_NUMBER = re.compile(r"^[ \t]*(?:[-*+][ \t]+)?\d+\.(?:\d+\.?)*(?=[ \t])", re.MULTILINE)
_LABEL = re.compile(r"\s*(?:\d+[.)]|[-*+])?\s*(\*\*|__)[^*_]+\1\s*:?\s*")  # "1. **Prepare**:"
_SOURCE_WORDS = frozenset(  # the words of a source list or of a pointer to a source
    re.split(
        r"\s+",
        "source sources see p pp page pages section sections chapter document documentation"
        " this that these it is are be can you in the of a an on for to and under from more"
        " found find described explained documented mentioned listed given provided"
        " information details refer location located",
    )
)
_NEGATION = re.compile(
    r"\b(?:not|never|cannot|nor|neither|\w+n't|\w+n’t)\b", re.IGNORECASE
)  # "no" aside: "no quality loss" says what there is, as often as what there is not
_YES = re.compile(r"[\s*_>-]*yes\b", re.IGNORECASE)
_TOKEN = re.compile(r"\w+(?:['’]\w+)?")
_CONTRADICTION_SHARE = 0.3  # of a "Yes" sentence's words in the stretch that denies one
_NEGATED_REACH = 3  # content words after a negation that it denies
_OPTION = re.compile(r"--?[A-Za-z]")
_CALL = re.compile(r"\(.*\)$")  # a call's arguments: `f(x)` is checked as `f`
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*|[a-z]+")
_SMALL_NUMBERS = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen"
    " fifteen sixteen seventeen eighteen nineteen twenty"
)
_NUMBER_WORDS = {word: str(value) for value, word in enumerate(_SMALL_NUMBERS.split())} | {
    "thirty": "30",
    "forty": "40",
    "fifty": "50",
    "hundred": "100",
    "thousand": "1000",
}


@dataclass(frozen=True)
class Span:
    start: int  # offsets into the passage's text
    end: int


@dataclass(frozen=True)
class Claim:
    sentence: str  # without its markers
    numbers: tuple[int, ...]  # the sources it cites
    support: float  # best share of its words found in a cited passage
    supported: bool
    span: Span | None  # in the best cited passage
    best: int | None  # the number of that passage
    similarity: float | None = None  # sentence vs span meaning; None: not measured


def claims(text: str, passages: Sequence[Passage], embedder: Embedder | None = None) -> list[Claim]:
    """Every sentence of the answer that carries a valid marker and states something, checked
    (by words and numbers; also by meaning when an embedder is given)."""
    checked = []
    for sentence, numbers in cited_sentences(text):
        valid = tuple(n for n in numbers if 1 <= n <= len(passages))
        if valid and not states_nothing(sentence, [passages[n - 1] for n in valid]):
            checked.append(_check(sentence, valid, passages))
    return checked if embedder is None else _by_meaning(checked, passages, embedder)


def cited_sentences(text: str) -> Iterator[tuple[str, tuple[int, ...]]]:
    """(sentence without markers, cited numbers) for sentences that carry markers; a marker
    after a sentence's stop ("… 45 EUR. [2]") belongs to that sentence, and code blocks are
    not sentences (see app.answering.answer_text)."""
    found = markers(text)
    for segment in segments(text):
        own = markers_in(found, segment)
        if segment.code or not own:
            continue
        sentence = edited(text, dict.fromkeys(own, ""), segment.start, segment.end)
        yield sentence.strip(), tuple(n for m in own for n in m.numbers)


def states_nothing(sentence: str, cited: Sequence[Passage]) -> bool:
    """A cited line that asserts no fact: markers alone ("[1]" on a line of its own), a list
    item's bold label ("1. **Prepare the disc**:"), a lead-in that announces what follows it
    ("To repair it, follow these steps:", with no code or number of its own: the steps are the
    claims), or the name of the source it cites, as the model's own source list writes it
    ("[2] Bash manual, p. 86") or as a pointer to it ("This is described in the section 8.3
    Rebinding Keys."). Flagging these as unconfirmed statements would flag the layout of a
    correct answer."""
    words = _WORD.findall(sentence.lower())
    if not words or _LABEL.fullmatch(sentence) or _lead_in(sentence):
        return True
    named = " ".join(" ".join((p.title, p.location, *p.headings)) for p in cited)
    names = set(_WORD.findall(named.lower()))
    paged = any(p.page_start is not None for p in cited)  # "pp. 2–3" of a page range
    said = {w for w in words if not (paged and w.isdigit())}
    return said <= names | _SOURCE_WORDS


def _lead_in(sentence: str) -> bool:
    text = sentence.rstrip()
    return text.endswith(":") and not inline_code(text) and not _DIGITS.search(text)


def _check(sentence: str, numbers: tuple[int, ...], passages: Sequence[Passage]) -> Claim:
    scored = [(best_span(sentence, passages[n - 1].text), n) for n in numbers]
    (span, support), best = max(scored, key=lambda item: item[0][1])
    denied = any(contradicted(sentence, passages[n - 1].text) for n in numbers)
    supported = support >= SUPPORT_THRESHOLD and not denied
    return Claim(sentence, numbers, support, supported, span, best)


def contradicted(sentence: str, passage: str) -> bool:
    """Whether `sentence` answers "Yes, …" and `passage` negates one of its words in a stretch
    that holds a third of them or more ("you must never share the same handle in multiple threads"
    against "Yes, you can use one handle from several threads"), with no other stretch saying
    nearly all of it (a page that allows three days a week at home and forbids working from
    abroad confirms "Yes, you may work from home up to three days a week"): the passage it cites
    says no, so no other stretch, and no other passage, confirms it."""
    if not _answers_yes(sentence):
        return False
    words = set(terms(sentence)) - {"yes"}
    if not words:
        return False
    denied = False
    for start, end in _windows(passage):
        stretch = passage[start:end]
        shared = len(words & set(terms(stretch))) / len(words)
        if _denies(stretch, words):
            denied = denied or shared >= _CONTRADICTION_SHARE
        elif shared >= WORDS_SUFFICE and not _asks(stretch):
            return False  # said outright elsewhere in the passage
    return denied


def _by_meaning(
    checked: list[Claim], passages: Sequence[Passage], embedder: Embedder
) -> list[Claim]:
    """Measure each claim's similarity to its span; a lexically supported claim whose
    meaning is too far from the span is not supported after all."""
    candidates = [_span_texts(c, passages) for c in checked]
    texts = [c.sentence for c in checked] + [t for group in candidates for t in group]
    if not any(candidates):
        return checked
    vectors = iter(embedder.embed(texts))
    sentences = [next(vectors) for _ in checked]
    judged = []
    for claim, sentence, group in zip(checked, sentences, candidates, strict=True):
        spans = [next(vectors) for _ in group]
        similarity = max((_cosine(sentence, v) for v in spans), default=None)
        judged.append(_judged(claim, similarity))
    return judged


def _judged(claim: Claim, similarity: float | None) -> Claim:
    if similarity is None:
        return claim
    by_meaning = similarity >= SIMILARITY_THRESHOLD or claim.support >= WORDS_SUFFICE
    supported = claim.supported and by_meaning
    return replace(claim, similarity=similarity, supported=supported)


def _span_texts(claim: Claim, passages: Sequence[Passage]) -> list[str]:
    """The span and each of its sentences or lines; for a span that is the whole passage (a
    table), each of its stretches (a row's meaning is in its line, its words in the whole). A
    span of two entries holds the words of one and the meaning of both: "-y (global):
    Overwrite output files without asking." beside "-n (global): Do not overwrite output files,
    and exit immediately if a specified output file already exists." gathers one more of the
    sentence's words ("exists") and blurs its meaning."""
    if claim.span is None or claim.best is None:
        return []
    passage = passages[claim.best - 1].text
    span = passage[claim.span.start : claim.span.end]
    if _trimmed(passage, 0, len(passage)) == claim.span:
        return [span] + [passage[start:end] for start, end in _windows(passage)]
    parts = [m.group(0) for m in _SENTENCE.finditer(span) if m.group(0).strip()]
    return [span, *parts] if len(parts) > 1 else [span]


def _cosine(a: Sequence[float], b: Sequence[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    norm = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return dot / norm if norm else 0.0


def best_span(sentence: str, passage: str) -> tuple[Span | None, float]:
    """The stretch of `passage` (one or two sentences or lines) that supports `sentence` best;
    the whole passage when only all of it together does (a table row and its heading)."""
    words = set(terms(sentence))
    if not words:
        return None, 0.0
    best = _best_window(sentence, words, passage, _windows(passage))
    if best[1] < SUPPORT_THRESHOLD:
        whole = _best_window(sentence, words, passage, [(0, len(passage))])
        if whole[1] >= SUPPORT_THRESHOLD:
            return whole
    return best


def _windows(passage: str) -> list[tuple[int, int]]:
    """Each sentence or line of the passage, and each two neighbouring ones."""
    pieces = [(m.start(), m.end()) for m in _SENTENCE.finditer(passage) if m.group(0).strip()]
    return pieces + [(a[0], b[1]) for a, b in pairwise(pieces)]


def _best_window(
    sentence: str, words: set[str], passage: str, windows: list[tuple[int, int]]
) -> tuple[Span | None, float]:
    numbers = _numbers(sentence)
    names = code_names(sentence)
    affirms = _answers_yes(sentence)
    best: tuple[Span | None, float] = (None, 0.0)
    for start, end in windows:
        stretch = passage[start:end]
        if not numbers <= _numbers(stretch) or not all(named(n, stretch) for n in names):
            continue
        if _asks(stretch) or (affirms and _denies(stretch, words)):
            continue
        share = len(words & set(terms(stretch))) / len(words)
        if share > best[1] or (share == best[1] and best[0] and end - start < _len(best[0])):
            best = (_trimmed(passage, start, end), share)
    return best


def _answers_yes(sentence: str) -> bool:
    """A sentence opening with "Yes" and denying nothing itself."""
    return bool(_YES.match(sentence)) and not _NEGATION.search(sentence)


def _asks(stretch: str) -> bool:
    """A stretch of questions only (a FAQ entry's title) asserts nothing: "How do I tell curl
    to follow HTTP redirects?" confirmed "Yes, curl follows HTTP redirects on its own"."""
    sentences = [m.group(0).strip() for m in _SENTENCE.finditer(stretch)]
    worded = [s for s in sentences if any(c.isalpha() for c in s)]  # not "3." of "3.8 How …"
    return bool(worded) and all(s.endswith("?") for s in worded)


def _denies(stretch: str, words: set[str]) -> bool:
    """Whether `stretch` negates one of the words of a "Yes, …" claim ("curl does not follow
    so-called redirects" against "Yes, curl follows HTTP redirects on its own"): a negation
    with the word among the few content words after it. Shared words alone confirmed such yes-for-no
    answers. Only a sentence that answers "Yes" is read so: elsewhere a denial near shared
    words is as often the passage's "not by default" before the way that does work."""
    tokens = _TOKEN.findall(stretch.lower())
    for at, token in enumerate(tokens):
        if _NEGATION.fullmatch(token):
            following = terms(" ".join(tokens[at + 1 : at + 1 + 2 * _NEGATED_REACH]))
            if words & set(following[:_NEGATED_REACH]):
                return True
    return False


def code_names(sentence: str) -> set[str]:
    """The names a sentence sets as inline code: a span of one word (`js`, `HISTCONTROL`,
    `--resolve`), and the options in a longer one (`-print_format` of `-print_format json`).
    A longer span's other words are often the answer's own placeholders (`input.mp4`)."""
    names: set[str] = set()
    for span in inline_code(sentence):
        parts = span.split()
        if len(parts) == 1:  # `HISTCONTROL=ignoreboth`: each side; `find_all()`: the name
            word = _CALL.sub("", parts[0].strip("\"'"))
            names.update(piece for piece in word.split("=") if piece)
        else:
            names.update(p.split("=")[0] for p in parts if _OPTION.match(p))
    return names


def named(name: str, text: str) -> bool:
    """Whether `text` holds `name` as a whole token: `-c` is not in `--config`, `js` not in
    `json`."""
    return re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", text) is not None


def without_outline_numbers(text: str) -> str:
    """`text` without the numbers that label its lines in an outline or a list ("5.3 How do I
    fetch …", "2. Attach the receipts"): they number the document, they say nothing about what
    it is about ("bash 5.3" is not in curl's FAQ entry 5.3)."""
    return _OUTLINE_NUMBER.sub("", text)


def _numbers(text: str) -> set[str]:
    """Numbers stated in digits or words ("three" and "3" are the same number), outline and
    list numbers aside."""
    found = set()
    for token in _NUMBER.findall(without_outline_numbers(text).lower()):
        if token[0].isdigit():
            found.add(token.replace(",", ""))
        elif token in _NUMBER_WORDS:
            found.add(_NUMBER_WORDS[token])
    return found


def _len(span: Span) -> int:
    return span.end - span.start


def _trimmed(text: str, start: int, end: int) -> Span:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return Span(start, end)
