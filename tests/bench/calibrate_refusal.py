"""Choose the refusal thresholds on an answer set's review file: false refusals and false answers
for each threshold tried, one signal at a time and combined.

Run `docent eval answers` with every decline turned off, so each question's signals are
measured whatever they are:

    DOCENT_MIN_EVIDENCE=0 DOCENT_MIN_SUBJECT_COVERAGE=0 DOCENT_MIN_CITED_COVERAGE=0 \
    DOCENT_MIN_SUPPORTED=0 DOCENT_REQUIRE_CITATION=false \
    docent eval answers --dataset eval/debian-docs/questions.jsonl --out open.jsonl
    python -m tests.bench.calibrate_refusal open.jsonl [--split dev]

A false refusal is an answerable question declined (also counted among the answers that stated
every key fact: declining a wrong answer is no loss); a false answer is an out-of-scope question
answered. The model's own "not found" counts as declined whatever the thresholds.
"""

from __future__ import annotations

import argparse
import itertools
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.answering.api_view import grounding_dict
from app.answering.citations import resolve
from app.answering.grounding import Grounding, GroundingOptions, after_generation, subject
from ingest.embed import Embedder
from ingest.types import Passage

_OFF = GroundingOptions()


@dataclass(frozen=True)
class Row:
    answerable: bool
    model_answered: bool  # the model wrote an answer (not its own "not found")
    complete: bool  # ... stating every key fact
    evidence: float
    subject: float  # subject coverage over the passages retrieved
    cited_subject: float | None  # over the passages cited
    supported: float | None  # share of cited sentences supported
    cited: bool


@dataclass(frozen=True)
class Thresholds:
    evidence: float = 0.0
    subject: float = 0.0
    cited_subject: float = 0.0
    supported: float = 0.0
    require_citation: bool = False

    def answers(self, row: Row) -> bool:
        if not row.model_answered or row.evidence < self.evidence or row.subject < self.subject:
            return False
        if self.require_citation and not row.cited:
            return False
        if row.supported is not None and row.supported < self.supported:
            return False
        return not (row.cited and (row.cited_subject or 0.0) < self.cited_subject)


def read(path: Path, split: str | None, recompute: Embedder | None = None) -> list[Row]:
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        if split and record["item"]["split"] != split:
            continue
        rows.append(_row(_recomputed(record, recompute) if recompute else record))
    return rows


def _recomputed(record: dict[str, Any], embedder: Embedder) -> dict[str, Any]:
    """The record's citations, claims and grounding signals computed again by today's code
    from the model's recorded text and passages (the model is not run again)."""
    passages = [_passage(i, p) for i, p in enumerate(record["passages"])]
    question = record["item"]["question"]
    found = subject(question, passages)
    grounding = Grounding(found)
    text = record["model_text"]
    cited: list[int] = []
    if record["verdict"]["answered"] and text:
        _, citations, checked = resolve(text, passages, embedder)
        cited = [c.number for c in citations]
        grounding = after_generation(question, grounding, passages, cited, checked, _OFF)
    return record | {"grounding": grounding_dict(grounding), "cited": cited}


def _passage(index: int, data: dict[str, Any]) -> Passage:
    headings = tuple(data.get("headings") or (data.get("section") or "").split(" > "))
    title = data.get("title", "")
    return Passage(
        f"p{index}", data["source"], index, data["text"], title, data["source"], headings,
        data.get("page"), data.get("page"), 0, len(data["text"]), 0.0,
    )  # fmt: skip


def _row(record: dict[str, Any]) -> Row:
    grounding = record.get("grounding") or {}
    verdict = record["verdict"]
    return Row(
        answerable=record["item"]["answerable"],
        model_answered=verdict["answered"],
        complete=verdict["complete"],
        evidence=record.get("evidence") or 0.0,
        subject=grounding.get("subject_coverage", 1.0),
        cited_subject=grounding.get("cited_coverage"),
        supported=grounding.get("supported_share"),
        cited=bool(record.get("cited")),
    )


def score(rows: Sequence[Row], t: Thresholds) -> dict[str, Any]:
    answerable = [r for r in rows if r.answerable]
    complete = [r for r in answerable if r.complete]
    outside = [r for r in rows if not r.answerable]
    return {
        "declined": _share(sum(not t.answers(r) for r in answerable), len(answerable)),
        "declined_complete": _share(sum(not t.answers(r) for r in complete), len(complete)),
        "oos_answered": _share(sum(t.answers(r) for r in outside), len(outside)),
        "complete_shown": _share(sum(t.answers(r) for r in complete), len(answerable)),
    }


def _share(n: int, d: int) -> str:
    return f"{n}/{d} ({n / d:.0%})" if d else "–"


GRID = {
    "evidence": [0.0, 0.3, 0.35, 0.4, 0.45, 0.5],
    "subject": [0.0, 0.3, 0.4, 0.5, 0.6, 0.7],
    "cited_subject": [0.0, 0.3, 0.4, 0.5, 0.6],
    "supported": [0.0, 0.25, 0.5, 0.75, 1.0],
    "require_citation": [False, True],
}


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("review", type=Path, help="eval answers review file (declines off)")
    parser.add_argument("--split", help="only this split (dev, test)")
    parser.add_argument("--top", type=int, default=15, help="combinations to list")
    parser.add_argument(
        "--recompute", action="store_true", help="check the recorded answers with today's code"
    )
    args = parser.parse_args(argv)
    embedder = None
    if args.recompute:
        from app.services import load_embedder
        from app.settings import Settings

        embedder = load_embedder(Settings())
    rows = read(args.review, args.split, embedder)
    print(f"{len(rows)} questions; one signal at a time (the others off):")
    for name, values in GRID.items():
        for value in values:
            print(f"  {name:>16} = {value!s:<5} {score(rows, Thresholds(**{name: value}))}")
    combos = []
    for values in itertools.product(*GRID.values()):
        t = Thresholds(*values)
        answerable = [r for r in rows if r.answerable]
        outside = [r for r in rows if not r.answerable]
        false_refusals = sum(not t.answers(r) for r in answerable if r.complete)
        false_answers = sum(t.answers(r) for r in outside)
        combos.append((false_answers + false_refusals, false_answers, false_refusals, t))
    combos.sort(key=lambda c: (c[0], c[1]))
    print("combinations by errors (false answers + complete answers declined):")
    for total, answers, refusals, t in combos[: args.top]:
        print(f"  {total:3} = {answers} false answers + {refusals} false refusals  {t}")


if __name__ == "__main__":
    main()
