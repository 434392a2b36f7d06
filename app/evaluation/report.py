"""The result of an evaluation: per-query scores, one summary row per search mode, a table, JSON."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from rich.table import Table

from app.evaluation.metrics import latency_summary, mean


@dataclass(frozen=True)
class QueryResult:
    query_id: str
    ranked: tuple[str, ...]  # the first k document ids retrieved
    ndcg: float  # nDCG@k
    recall_k: float
    recall_depth: float
    mrr: float  # MRR@k
    ms: float  # wall clock: query encoding, search (and rerank)


@dataclass(frozen=True)
class ModeSummary:
    mode: str
    ndcg: float
    recall_k: float
    recall_depth: float
    mrr: float
    p50_ms: float
    p95_ms: float
    queries: int


@dataclass(frozen=True)
class EvalReport:
    dataset: str
    k: int
    depth: int  # chunks fetched per query before documents are deduplicated
    summaries: list[ModeSummary]
    per_query: dict[str, list[QueryResult]] = field(default_factory=dict)  # by mode
    setup: dict[str, Any] = field(default_factory=dict)  # fusion, prefetch, reranker

    def summary(self, mode: str) -> ModeSummary:
        for row in self.summaries:
            if row.mode == mode:
                return row
        raise KeyError(mode)

    def to_dict(self, per_query: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {
            "dataset": self.dataset,
            "k": self.k,
            "depth": self.depth,
            "setup": self.setup,
            "modes": [_rounded(asdict(row)) for row in self.summaries],
        }
        if per_query:
            out["queries"] = {
                mode: [_rounded(asdict(r)) for r in results]
                for mode, results in self.per_query.items()
            }
        return out

    def to_json(self, per_query: bool = False) -> str:
        return json.dumps(self.to_dict(per_query), indent=2)


def summarize(mode: str, results: Sequence[QueryResult]) -> ModeSummary:
    p50, p95 = latency_summary([r.ms for r in results])
    return ModeSummary(
        mode=mode,
        ndcg=mean([r.ndcg for r in results]),
        recall_k=mean([r.recall_k for r in results]),
        recall_depth=mean([r.recall_depth for r in results]),
        mrr=mean([r.mrr for r in results]),
        p50_ms=p50,
        p95_ms=p95,
        queries=len(results),
    )


def report_table(report: EvalReport) -> Table:
    k, depth = report.k, report.depth
    setup = ", ".join(f"{key} {value}" for key, value in report.setup.items())
    table = Table(title=f"Retrieval on {report.dataset}" + (f" ({setup})" if setup else ""))
    table.add_column("mode")
    for header in (f"nDCG@{k}", f"R@{k}", f"R@{depth}", f"MRR@{k}", "p50 ms", "p95 ms", "queries"):
        table.add_column(header, justify="right")
    for row in report.summaries:
        table.add_row(
            row.mode,
            f"{row.ndcg:.3f}",
            f"{row.recall_k:.3f}",
            f"{row.recall_depth:.3f}",
            f"{row.mrr:.3f}",
            f"{row.p50_ms:.1f}",
            f"{row.p95_ms:.1f}",
            str(row.queries),
        )
    return table


def _rounded(values: dict[str, Any]) -> dict[str, Any]:
    return {key: round(v, 4) if isinstance(v, float) else v for key, v in values.items()}
