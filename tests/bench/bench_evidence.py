"""The evidence signal two ways, on an ingested answer set: the store's similarity returned with
each hit (what docent does) and the shown chunks embedded again (what it did before). Prints
the time each takes per question and the signal's spread for answerable and out-of-scope
questions, per split, so a change to it can be judged against DOCENT_MIN_EVIDENCE.

    DOCENT_DATA_DIR=data/eval-debian-docs python -m tests.bench.bench_evidence \\
        eval/debian-docs/questions.jsonl
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace
from pathlib import Path

from app.answering.evidence import evidence_strength
from app.answering.retrieve import retrieve
from app.services import load_embedder, open_store, retrieval_options
from app.settings import Settings
from ingest.access import Access
from ingest.types import Passage


def _chunks(passages: list[Passage]) -> list[Passage]:
    """Joined passages cut back into their chunks, without the store's similarity."""
    parts = []
    for p in passages:
        spans = p.chunk_spans or ((p.start, p.end),)
        for s, e in spans:
            text = p.text[s - p.start : e - p.start]
            parts.append(replace(p, text=text, start=s, end=e, chunk_spans=(), similarity=None))
    return parts


def _spread(values: list[float]) -> str:
    ordered = sorted(values)
    if not ordered:
        return "-"
    pick = [ordered[0], ordered[len(ordered) // 10], ordered[len(ordered) // 2], ordered[-1]]
    return "min/p10/median/max " + "/".join(f"{v:.3f}" for v in pick)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("questions", type=Path)
    args = parser.parse_args()
    settings = Settings()
    store, embedder = open_store(settings), load_embedder(settings)
    options = retrieval_options(settings)
    rows, stored_s, embedded_s = [], 0.0, 0.0
    for line in args.questions.read_text().splitlines():
        q = json.loads(line)
        vector = embedder.embed([q["question"]])[0]
        found = retrieve(
            q["question"],
            embedder=embedder,
            store=store,
            limit=settings.top_k,
            access=Access.admin(),
            question_vector=vector,
            options=options,
        )
        started = time.perf_counter()
        stored = evidence_strength(vector, found, embedder)
        stored_s += time.perf_counter() - started
        started = time.perf_counter()
        embedded = evidence_strength(vector, _chunks(found), embedder)
        embedded_s += time.perf_counter() - started
        rows.append((q.get("split", "all"), q.get("answerable", True), stored, embedded))
    n = len(rows) or 1
    stored_ms, embedded_ms = 1000 * stored_s / n, 1000 * embedded_s / n
    print(f"per question: stored {stored_ms:.2f} ms, embedded {embedded_ms:.1f} ms")
    floor = settings.min_evidence
    for split in sorted({r[0] for r in rows}):
        for answerable in (True, False):
            part = [r for r in rows if r[0] == split and r[1] is answerable]
            for name, index in (("stored", 2), ("embedded", 3)):
                values = [r[index] for r in part]
                below = sum(v < floor for v in values)
                kind = "answerable" if answerable else "out of scope"
                counted = f"below {floor}: {below}/{len(values)}"
                print(f"{split:5} {kind:12} {name:8} {_spread(values)}  {counted}")
    store.close()


if __name__ == "__main__":
    main()
