"""A tiny benchmark in the BEIR layout, written on demand (the qrels with CRLF and a header)."""

from __future__ import annotations

import json
from pathlib import Path

CORPUS = {
    "d1": ("Zebra migration", "Zebras cross the Serengeti plains every year, following the rains."),
    "d2": ("Volcanic soil", "Volcanic ash weathers into fertile soil rich in minerals for farms."),
    "d3": (
        "Sourdough bread",
        "Sourdough rises with wild yeast. The starter is fed flour and water daily. "
        "Bakers keep the starter warm so the yeast stays active. Long fermentation "
        "gives the loaf its sour taste and an open crumb with large holes.",
    ),
    "d4": ("Coral reefs", "Warm oceans bleach coral when the algae leave the reef."),
    "d5": ("Glacier retreat", "Alpine glaciers shrink as summers grow warmer and longer."),
}
QUERIES = {
    "q1": "zebra migration across the Serengeti",
    "q2": "fertile volcanic ash",
    "q3": "warm water and coral bleaching",
    "q9": "a query without judgments is not part of the test set",
}
QRELS = [("q1", "d1", 2), ("q2", "d2", 1), ("q3", "d4", 2), ("q3", "d5", 1)]


def write_tiny_beir(root: Path, name: str = "tiny") -> Path:
    folder = root / name
    (folder / "qrels").mkdir(parents=True)
    corpus = [{"_id": i, "title": t, "text": x, "metadata": {}} for i, (t, x) in CORPUS.items()]
    queries = [{"_id": i, "text": t, "metadata": {}} for i, t in QUERIES.items()]
    (folder / "corpus.jsonl").write_text("".join(json.dumps(row) + "\n" for row in corpus))
    (folder / "queries.jsonl").write_text("".join(json.dumps(row) + "\n" for row in queries))
    lines = ["query-id\tcorpus-id\tscore", *(f"{q}\t{d}\t{g}" for q, d, g in QRELS)]
    (folder / "qrels" / "test.tsv").write_bytes(("\r\n".join(lines) + "\r\n").encode())
    return folder
