"""Choose the checks made before generation (subject coverage, unknown names) on an answer set,
without running the model: each question is searched as the Answerer searches it, and every
pair of thresholds is applied to the passages found.

    DOCENT_DATA_DIR=data/eval-debian-docs python -m tests.bench.calibrate_early \
        eval/debian-docs/questions.jsonl [--split dev]

(the answer set's documents ingested first, as `make eval-answers` does). For each pair: the
answerable questions declined early (and how many of them had every key fact in their passages,
so an answer was there to give) and the out-of-scope questions declined early. Out-of-scope
questions that pass still meet the checks after generation and the model's own "not found";
`tests.bench.calibrate_refusal` chooses those.
"""

from __future__ import annotations

import argparse
import itertools
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from app.answering.answer import Answerer
from app.answering.grounding import GroundingOptions, before_generation
from app.evaluation.answers import AnswerItem, fact_recall, read_answer_set
from app.services import build_services
from app.settings import Settings
from ingest.access import PUBLIC
from ingest.types import Passage

COVERAGE = (0.0, 0.3, 0.4, 0.5, 0.6, 0.7)
RARE_BELOW = (0.0, 3.0, 3.5, 4.0)


@dataclass(frozen=True)
class Searched:
    item: AnswerItem
    passages: list[Passage]
    vector: list[float]
    weak: bool  # below DOCENT_MIN_EVIDENCE: declined whatever the thresholds
    facts_found: bool  # every key fact is in the passages (answerable questions)


def searched(answerer: Answerer, items: Sequence[AnswerItem]) -> list[Searched]:
    off = replace(answerer.options, grounding=GroundingOptions())
    plain = replace(answerer, options=off)
    found = []
    for item in items:
        limit = answerer.options.max_answer_tokens
        evidence = plain._search(item.question, PUBLIC, time.perf_counter(), None, limit)
        text = "\n".join(" ".join((*p.headings, p.text)) for p in evidence.passages)
        vector = answerer.embedder.embed([evidence.query])[0]
        weak = not evidence.passages or evidence.strength < answerer.options.min_evidence
        facts = item.answerable and fact_recall(item.key_facts, text) == 1.0
        found.append(Searched(item, evidence.passages, vector, weak, facts))
    return found


def declined(answerer: Answerer, s: Searched, options: GroundingOptions) -> bool:
    if s.weak:
        return True
    probe = replace(answerer, options=replace(answerer.options, grounding=options))
    unknown = probe._unknown(s.item.question, PUBLIC, s.vector)
    return bool(before_generation(s.item.question, s.passages, options, unknown).reason)


def report(answerer: Answerer, rows: Sequence[Searched]) -> None:
    answerable = [r for r in rows if r.item.answerable]
    outside = [r for r in rows if not r.item.answerable]
    with_facts = sum(r.facts_found for r in answerable)
    print(
        f"{len(answerable)} answerable ({with_facts} with every key fact in their passages), "
        f"{len(outside)} out of scope"
    )
    print("coverage  rare<  | answerable declined (with facts) | out of scope declined")
    for coverage, rare in itertools.product(COVERAGE, RARE_BELOW):
        options = GroundingOptions(min_subject_coverage=coverage, rare_name_below=rare)
        a = [r for r in answerable if declined(answerer, r, options)]
        o = sum(declined(answerer, r, options) for r in outside)
        facts = sum(r.facts_found for r in a)
        print(
            f"{coverage:8.2f}  {rare:5.1f}  | {len(a):>8d}/{len(answerable)} ({facts})"
            f"{'':17s}| {o:>8d}/{len(outside)}"
        )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset", type=Path, help="answer set (eval answers --dataset format)")
    parser.add_argument("--split", help="only this split (dev, test)")
    args = parser.parse_args(argv)
    items = [i for i in read_answer_set(args.dataset) if not args.split or i.split == args.split]
    services = build_services(Settings())
    report(services.answerer, searched(services.answerer, items))


if __name__ == "__main__":
    main()
