"""`docent eval answers`: an answer set through the product's own `Answerer`, judged.

The answer set is JSON Lines (blank lines and `#` lines skipped):

```
{"id": "curl-01", "question": "...", "answer": "reference answer", "key_facts": [["--limit-rate"]],
 "document": "curl/curl.1.html", "source": "curl", "split": "dev"}
{"id": "oos-01", "question": "...", "answerable": false, "source": "curl", "split": "dev"}
```

`key_facts` is a list of facts, each a list of acceptable strings (matched case-insensitively,
spaces normalised, in the answer without its markers); an answer that states every fact is
"complete". `document` is the end of the answering file's path. Questions run against the
documents already ingested (`make eval-answers` ingests the set first), as an admin.

Each answer is judged on: answered or declined (and why), key-fact recall, citation validity
(share of cited sentences the claims check supports), whether the right document is cited,
whether docent changed the model's text outside citation markers (judged by a check written
apart from `app.answering.citations`, so a bug there cannot hide itself), whether it repeats
prompt text, and time to first token.
Every answer, its passages and verdicts go to a JSONL for review.
"""

from __future__ import annotations

import json
import re
import statistics
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from app.answering.answer import Answer, Answerer, Done, Failed, Token
from app.answering.api_view import grounding_dict
from app.evaluation.beir import DatasetError
from app.generation.prompting import NOT_FOUND, Prompts
from ingest.access import Access

LEAK_WORDS = 6  # a run of this many words of the prompt's own text in an answer is a leak
_MARKERISH = re.compile(r"[ \t]?\[\d{1,3}(?:\s*,\s*\d{1,3})*\]")
_WORDS = re.compile(r"[\w:.'’-]+")


@dataclass(frozen=True)
class AnswerItem:
    id: str
    question: str
    answerable: bool
    answer: str = ""
    key_facts: tuple[tuple[str, ...], ...] = ()
    document: str = ""
    source: str = ""
    split: str = ""
    kind: str = ""


@dataclass
class Verdict:
    id: str
    source: str
    split: str
    answerable: bool
    answered: bool
    declined: str  # docent's reason, "" when the model answered or said not found itself
    key_fact_recall: float | None
    complete: bool  # answered, and every key fact stated
    right_document: bool | None
    claims: int
    supported_claims: int
    altered: bool
    leaked: str  # the prompt words repeated, "" when none
    first_token_ms: float | None
    total_ms: float
    tokens_per_second: float | None = None  # decoding speed of the answer the model wrote
    overruled: bool = False  # the model leaned to "not found" and was overruled (see opening)
    reasked: bool = False  # its "Yes" denied by its passage, asked again (see yes_denied)


@dataclass
class Summary:
    label: str
    answerable: int = 0
    out_of_scope: int = 0
    answered: int = 0  # answerable questions answered
    declined: int = 0  # answerable questions not answered
    complete: int = 0
    recall_sum: float = 0.0
    right_document: int = 0
    claims: int = 0
    supported_claims: int = 0
    altered: int = 0
    leaks: int = 0
    oos_answered: int = 0
    overruled: int = 0  # answers the model leaned to decline, written after all
    reasked: int = 0  # answers asked again after a denied "Yes"
    first_tokens: list[float] = field(default_factory=list)
    speeds: list[float] = field(default_factory=list)

    def add(self, v: Verdict) -> None:
        if v.answerable:
            self.answerable += 1
            self.answered += v.answered
            self.declined += not v.answered
            self.complete += v.complete
            self.recall_sum += v.key_fact_recall or 0.0
            self.right_document += bool(v.right_document)
        else:
            self.out_of_scope += 1
            self.oos_answered += v.answered
        self.claims += v.claims
        self.supported_claims += v.supported_claims
        self.altered += v.altered
        self.leaks += bool(v.leaked)
        self.overruled += v.overruled
        self.reasked += v.reasked
        if v.first_token_ms is not None:
            self.first_tokens.append(v.first_token_ms)
        if v.tokens_per_second is not None:
            self.speeds.append(v.tokens_per_second)

    def row(self) -> dict[str, Any]:
        def share(n: int, d: int) -> float | None:
            return round(n / d, 3) if d else None

        return {
            "set": self.label,
            "answerable": self.answerable,
            "answered": share(self.answered, self.answerable),
            "declined": share(self.declined, self.answerable),
            "complete": share(self.complete, self.answerable),
            "key_fact_recall": share(int(self.recall_sum * 1000), self.answerable * 1000),
            "right_document_cited": share(self.right_document, self.answerable),
            "citation_validity": share(self.supported_claims, self.claims),
            "out_of_scope": self.out_of_scope,
            "out_of_scope_answered": share(self.oos_answered, self.out_of_scope),
            "altered": self.altered,
            "prompt_leaks": self.leaks,
            "not_found_overruled": self.overruled,
            "reasked": self.reasked,
            "first_token_p50_s": (
                round(statistics.median(self.first_tokens) / 1000, 2) if self.first_tokens else None
            ),
            "tokens_per_second_p50": (
                round(statistics.median(self.speeds), 1) if self.speeds else None
            ),
        }


def read_answer_set(path: Path) -> list[AnswerItem]:
    if not path.is_file():
        raise DatasetError(f"{path} is missing (expected a JSON Lines answer set)")
    items = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            data = json.loads(line)
            items.append(_item(data, number))
        except (ValueError, KeyError, TypeError) as exc:
            raise DatasetError(f"{path}:{number}: {exc}") from exc
    if not items:
        raise DatasetError(f"{path}: no questions")
    return items


def _item(data: dict[str, Any], number: int) -> AnswerItem:
    facts = tuple(
        tuple([fact] if isinstance(fact, str) else fact) for fact in data.get("key_facts", [])
    )
    return AnswerItem(
        id=str(data.get("id", f"line-{number}")),
        question=str(data["question"]),
        answerable=bool(data.get("answerable", "answer" in data)),
        answer=str(data.get("answer", "")),
        key_facts=facts,
        document=str(data.get("document", "")),
        source=str(data.get("source", "")),
        split=str(data.get("split", "")),
        kind=str(data.get("kind", "")),
    )


def evaluate_answers(
    items: Sequence[AnswerItem],
    answerer: Answerer,
    prompts: Prompts,
    out: Path | None = None,
    progress: Callable[[AnswerItem, Verdict], None] | None = None,
) -> list[Summary]:
    """Ask every item, judge it, write the review file; summaries: all, per source, per split."""
    leaks = prompt_ngrams(prompts)
    verdicts = []
    with out.open("w", encoding="utf-8") if out else _Nowhere() as review:
        for item in items:
            answer, streamed = ask(answerer, item.question)
            verdict = judge(item, answer, streamed, leaks)
            verdicts.append(verdict)
            record = _review(item, answer, streamed, verdict)
            review.write(json.dumps(record, ensure_ascii=False) + "\n")
            review.flush()  # a run stopped half-way keeps what it judged
            if progress:
                progress(item, verdict)
    return summaries(verdicts)


def ask(answerer: Answerer, question: str) -> tuple[Answer, str]:
    """The answer, and the text the model streamed (what docent must not alter); for an
    answer asked for again, the second text the model wrote (the first is `first_text`)."""
    streamed: list[str] = []
    for event in answerer.stream(question, Access.admin()):
        if isinstance(event, Token):
            streamed.append(event.text)
        if isinstance(event, Done):
            written = event.answer.model_text if event.answer.reasked else "".join(streamed)
            return event.answer, written.strip()
        if isinstance(event, Failed):
            raise RuntimeError(f"the model failed on {question!r}: {event.message}")
    raise RuntimeError("answer stream ended without an answer")  # pragma: no cover


def judge(item: AnswerItem, answer: Answer, streamed: str, leaks: set[tuple[str, ...]]) -> Verdict:
    """`streamed`: the model's own text, as its tokens arrived."""
    text = _MARKERISH.sub("", answer.text)
    recall = fact_recall(item.key_facts, text) if item.answerable else None
    cited_sources = [c.passage.source for c in answer.citations]
    right = any(_same_file(s, item.document) for s in cited_sources) if item.answerable else None
    declined = answer.refused and answer.text == NOT_FOUND  # docent's decision, not the model's
    shown_by_model = not declined and answer.text != NOT_FOUND
    return Verdict(
        id=item.id,
        source=item.source,
        split=item.split,
        answerable=item.answerable,
        answered=answer.found,
        declined=(answer.declined or "weak_evidence") if declined else "",
        key_fact_recall=recall,
        complete=answer.found and recall == 1.0,
        right_document=right,
        claims=len(answer.claims) if answer.found else 0,
        supported_claims=sum(c.supported for c in answer.claims) if answer.found else 0,
        altered=shown_by_model and bool(streamed) and altered(streamed, answer.text),
        leaked=leaked(streamed, leaks),
        first_token_ms=answer.timings.first_token_ms,
        total_ms=answer.timings.total_ms,
        tokens_per_second=answer.timings.tokens_per_second,
        overruled=answer.not_found_overruled,
        reasked=answer.reasked,
    )


def fact_recall(facts: Sequence[Sequence[str]], text: str) -> float:
    """Share of the facts stated: one of a fact's strings occurs as a whole word (an option
    like "-C" does not match inside "--continue"), case-sensitively for options."""
    if not facts:
        return 1.0
    said = _normal(text)
    return sum(any(_says(said, _normal(alt)) for alt in fact) for fact in facts) / len(facts)


def _says(text: str, fact: str) -> bool:
    option = fact.startswith("-")
    left = r"(?<![\w-])" if fact[:1].isalnum() or option else ""
    right = r"(?!\w)" if fact[-1:].isalnum() else ""
    flags = 0 if option else re.IGNORECASE
    return re.search(left + re.escape(fact) + right, text, flags) is not None


def altered(model_text: str, shown: str) -> bool:
    """Whether `shown` differs from `model_text` by more than citation markers placed where a
    citation can go (after a word, a sentence or a marker; never in code or an identifier)."""
    raw_rest, raw_marks = _split_markers(model_text)
    shown_rest, shown_marks = _split_markers(shown)
    if raw_rest != shown_rest:
        return True
    changed = set(raw_marks.items()) ^ set(shown_marks.items())
    return any(
        not _citation_position(raw_rest, position, mark.startswith(" "))
        for position, mark in changed
    )


def _split_markers(text: str) -> tuple[str, dict[int, str]]:
    """The text without marker-shaped brackets, and each run of them by where it stood."""
    rest: list[str] = []
    marks: dict[int, str] = {}
    position = 0
    for match in _MARKERISH.finditer(text):
        rest.append(text[position : match.start()])
        at = sum(len(p) for p in rest)
        spaced = " " if match.group(0)[:1] in " \t" else ""
        marks[at] = marks.get(at, "") + spaced + re.sub(r"\s+", "", match.group(0))
        position = match.end()
    rest.append(text[position:])
    return "".join(rest), marks


def _citation_position(text: str, at: int, spaced: bool = False) -> bool:
    """A marker may stand at `at` of the marker-free text: not inside backticks or quotes,
    after a plain word or punctuation (not an identifier, a path or an opening bracket), and
    before a space, the end, another marker or closing punctuation."""
    before = text[:at]
    if before.count("```") % 2 or before.replace("```", "").count("`") % 2:
        return False
    line = before.rsplit("\n", 1)[-1]
    if line.count('"') % 2 or (line.count("“") > line.count("”")):
        return False  # inside a quotation: "ftp [2]." quotes a name, a marker breaks it
    word = before.rstrip().split()[-1] if before.strip() else ""
    if not spaced and before and not before[-1].isspace() and re.search(r"[./_(\[{=\\]\w+$", word):
        return False  # "sys.argv[1]": a bracket against an identifier indexes it
    if word.endswith(("(", "[", "{", "=", ",")):
        return False
    return re.match(r"$|\s|[.,;:!?)\"'*]+(?:$|\s)", text[at:]) is not None


def prompt_ngrams(prompts: Prompts) -> set[tuple[str, ...]]:
    """Runs of LEAK_WORDS words in the prompt's own text (not the not-found reply, which an
    answer may give, nor the sources and question, which vary)."""
    static = prompts.system() + "\n" + prompts.user("", [])
    static = static.replace(NOT_FOUND, " ")
    return set(_ngrams(static))


def leaked(text: str, ngrams: set[tuple[str, ...]]) -> str:
    for gram in _ngrams(text.replace(NOT_FOUND, " ")):
        if gram in ngrams:
            return " ".join(gram)
    return ""


def _ngrams(text: str) -> Iterable[tuple[str, ...]]:
    words = [w.lower().strip(".:'’") for w in _WORDS.findall(_MARKERISH.sub("", text))]
    words = [w for w in words if w]
    return (tuple(words[i : i + LEAK_WORDS]) for i in range(len(words) - LEAK_WORDS + 1))


def summaries(verdicts: Sequence[Verdict]) -> list[Summary]:
    groups: dict[str, Summary] = {"all": Summary("all")}
    for verdict in verdicts:
        labels = ["all"]
        if verdict.source:
            labels.append(f"source {verdict.source}")
        if verdict.split:
            labels.append(f"split {verdict.split}")
        for label in labels:
            groups.setdefault(label, Summary(label)).add(verdict)
    return list(groups.values())


def _review(item: AnswerItem, answer: Answer, streamed: str, verdict: Verdict) -> dict[str, Any]:
    return {
        "item": asdict(item),
        "verdict": asdict(verdict),
        "answer": answer.text,
        "model_text": streamed,
        "declined": verdict.declined,
        "evidence": answer.evidence,
        "grounding": grounding_dict(answer.grounding),
        "not_found_probability": answer.not_found_probability,
        "not_found_ruled_out": answer.not_found_ruled_out,
        "not_found_overruled": answer.not_found_overruled,
        "reasked": answer.reasked,
        "first_text": answer.first_text,
        "claims": [
            {"sentence": c.sentence, "cites": list(c.numbers), "supported": c.supported}
            for c in answer.claims
        ],
        "cited": [c.number for c in answer.citations],
        "passages": [
            {
                "source": p.source,
                "title": p.title,
                "headings": list(p.headings),
                "section": p.section,
                "page": p.page_start,
                "text": p.text,
            }
            for p in answer.passages
        ],
    }


def _same_file(source: str, document: str) -> bool:
    source, document = source.replace("\\", "/"), document.replace("\\", "/").lstrip("/")
    return bool(document) and (source == document or source.endswith("/" + document))


def _normal(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("`", "")).strip()


class _Nowhere:
    def __enter__(self) -> _Nowhere:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def write(self, text: str) -> int:
        return len(text)

    def flush(self) -> None:
        return None
