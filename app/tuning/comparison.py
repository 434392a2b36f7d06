"""`docent tune eval`: the answer evaluation with and without an adapter, side by side.

The same questions (the training set's held-out split, and an answer set such as the dev set)
go through the product's own `Answerer` twice: with the chat model alone, then with the
adapter. An adapter is worth keeping when it wins on the figures that matter (complete
answers, right document cited, citation validity, out-of-scope questions declined) without
losing on the others.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.answering.answer import Answerer
from app.evaluation.answers import AnswerItem, Verdict, evaluate_answers

# figure -> whether higher is better (figures not listed are shown, not judged)
JUDGED = {
    "complete": True,
    "key_fact_recall": True,
    "right_document_cited": True,
    "citation_validity": True,
    "out_of_scope_answered": False,
    "altered": False,
    "prompt_leaks": False,
}


@dataclass(frozen=True)
class Side:
    label: str  # "base" or the adapter's file name
    answerer: Answerer


@dataclass(frozen=True)
class SetComparison:
    name: str  # "held-out", "dev"
    questions: int
    rows: dict[str, dict[str, Any]]  # side label -> the summary row of all questions

    def better(self, adapter: str, base: str = "base") -> list[str]:
        return [f for f in JUDGED if _delta(self.rows, f, adapter, base) > 0]

    def worse(self, adapter: str, base: str = "base") -> list[str]:
        return [f for f in JUDGED if _delta(self.rows, f, adapter, base) < 0]


def compare(
    sets: Mapping[str, Sequence[AnswerItem]],
    sides: Sequence[Side],
    review_dir: Path,
    progress: Callable[[str, AnswerItem, Verdict], None] | None = None,
) -> list[SetComparison]:
    """Every set answered by every side; each side's answers go to a review JSONL."""
    review_dir.mkdir(parents=True, exist_ok=True)
    results: dict[str, dict[str, dict[str, Any]]] = {name: {} for name in sets}
    for side in sides:
        for name, items in sets.items():
            out = review_dir / f"{_slug(name)}.{_slug(side.label)}.jsonl"

            def step(item: AnswerItem, verdict: Verdict, label: str = side.label) -> None:
                if progress:
                    progress(label, item, verdict)

            summaries = evaluate_answers(items, side.answerer, side.answerer.prompts, out, step)
            results[name][side.label] = summaries[0].row()  # "all"
    return [SetComparison(name, len(sets[name]), results[name]) for name in sets]


def write_comparison(path: Path, comparisons: Sequence[SetComparison]) -> Path:
    data = [{"set": c.name, "questions": c.questions, "rows": c.rows} for c in comparisons]
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    return path


def _delta(rows: dict[str, dict[str, Any]], figure: str, adapter: str, base: str) -> float:
    new, old = rows.get(adapter, {}).get(figure), rows.get(base, {}).get(figure)
    if new is None or old is None or new == old:
        return 0.0
    change = float(new) - float(old)
    return change if JUDGED[figure] else -change


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "-" for c in text)
