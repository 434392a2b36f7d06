"""Choose the citation check's similarity threshold on labelled sentence pairs.

Each line of the data is a sentence, a passage (from the demo documents), and whether the
passage supports the sentence — written by hand: close restatements, paraphrases, and wrong
claims that share most of their words with the passage (another group, another qualifier,
a negation dropped). The lexical check is run as docent runs it; the similarity is the
cosine between the sentence and its supporting span with the real embedder. Prints, for
each threshold, how many supported sentences stay supported and how many wrong ones pass.
A benchmark: it measures, it asserts nothing.

    python -m tests.bench.calibrate_support [--data JSONL ...] [--json]
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.answering.support import SIMILARITY_THRESHOLD, SUPPORT_THRESHOLD, claims
from app.services import load_embedder
from app.settings import Settings
from tests.app.sample import passage

PAIRS = Path(__file__).parent / "data" / "support_pairs.jsonl"
MAX_FALSE_FLAGS = 0.05  # share of supported sentences the check may wrongly flag


@dataclass(frozen=True)
class Scored:
    sentence: str
    kind: str
    supported: bool  # the label
    lexical: bool  # words and numbers found in one stretch of the passage
    similarity: float


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, nargs="*", default=[PAIRS])
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rows = [json.loads(line) for path in args.data for line in path.open() if line.strip()]
    scored = score(rows)
    report = sweep(scored)
    print(json.dumps(report, indent=2) if args.json else table(scored, report))


def score(rows: list[dict[str, Any]]) -> list[Scored]:
    embedder = load_embedder(Settings())
    scored = []
    for row in rows:
        shown = [passage(row["passage"])]
        (claim,) = claims(f"{row['sentence']} [1]", shown, embedder)
        scored.append(
            Scored(
                row["sentence"],
                row.get("kind", ""),
                bool(row["supported"]),
                claim.support >= SUPPORT_THRESHOLD,
                claim.similarity if claim.similarity is not None else 0.0,
            )
        )
    return scored


def sweep(scored: list[Scored]) -> dict[str, Any]:
    good = [s for s in scored if s.supported]
    bad = [s for s in scored if not s.supported]
    steps = []
    for hundredths in range(40, 96, 2):
        threshold = hundredths / 100
        kept = sum(1 for s in good if s.lexical and s.similarity >= threshold) / len(good)
        passed = sum(1 for s in bad if s.lexical and s.similarity >= threshold) / len(bad)
        steps.append({"threshold": threshold, "kept": kept, "passed_wrong": passed})
    lexical = {
        "kept": sum(s.lexical for s in good) / len(good),
        "passed_wrong": sum(s.lexical for s in bad) / len(bad),
    }
    youden = max(steps, key=lambda s: s["kept"] - s["passed_wrong"])
    safe = [s for s in steps if s["kept"] >= 1 - MAX_FALSE_FLAGS]
    chosen = max(safe, key=lambda s: (s["kept"] - s["passed_wrong"], -s["threshold"]))
    return {
        "pairs": len(scored),
        "supported": len(good),
        "wrong": len(bad),
        "lexical_only": lexical,
        "best_youden": youden,
        f"best_with_at_most_{MAX_FALSE_FLAGS:.0%}_false_flags": chosen,
        "in_use": SIMILARITY_THRESHOLD,
        "sweep": steps,
    }


def table(scored: list[Scored], report: dict[str, Any]) -> str:
    lines = [f"{'label':5} {'kind':10} {'lexical':7} {'similarity':>10}  sentence"]
    for s in sorted(scored, key=lambda s: s.similarity):
        label = "yes" if s.supported else "no"
        lines.append(
            f"{label:5} {s.kind:10} {s.lexical!s:7} {s.similarity:10.3f}  {s.sentence[:70]}"
        )
    lines.append(json.dumps({k: v for k, v in report.items() if k != "sweep"}, indent=2))
    lines.append("threshold  kept-supported  passed-wrong")
    for step in report["sweep"]:
        lines.append(
            f"{step['threshold']:9.2f}  {step['kept']:14.2f}  {step['passed_wrong']:12.2f}"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
