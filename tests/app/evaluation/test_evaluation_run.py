"""`eval_retrieval`, as the CLI calls it: a BEIR folder or a gold file in, a report out."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from rich.console import Console

from app.evaluation.beir import DatasetError
from app.evaluation.index import IndexOptions, collection_name
from app.evaluation.report import EvalReport, ModeSummary, QueryResult, report_table
from app.evaluation.run import eval_retrieval
from app.services import open_store
from app.settings import Settings
from ingest.catalog import Catalog, OkRecord
from ingest.planning import point_id
from ingest.sparse import encode_document
from ingest.types import Chunk, StoredChunk
from tests.app.data.evaluation import write_tiny_beir
from tests.fakes import FakeEmbedder


def recording_console() -> Console:
    return Console(file=io.StringIO(), width=120, record=True)


def test_benchmark_is_indexed_once_then_reused(tmp_path: Path, settings: Settings) -> None:
    folder = write_tiny_beir(tmp_path)
    console = recording_console()
    report = eval_retrieval(folder, settings, FakeEmbedder(), console=console)
    assert [s.mode for s in report.summaries] == ["dense", "sparse", "hybrid"]
    assert report.summary("sparse").queries == 3
    name = collection_name("tiny", "fake-bow", IndexOptions(200, 30))
    assert f"Indexed {name}: 5 documents" in console.export_text()
    assert (settings.data_dir / "eval" / f"{name}.json").is_file()
    assert (settings.data_dir / "eval-store").is_dir()

    again, console = FakeEmbedder(), recording_console()
    second = eval_retrieval(folder, settings, again, modes=["sparse"], console=console)
    output = console.export_text()
    assert f"Reused {name}: 5 documents" in output
    assert "Indexing" not in output  # no empty progress bar when nothing is indexed
    assert again.batches == []  # sparse search embeds no query either
    assert second.summary("sparse").ndcg == report.summary("sparse").ndcg


def test_gold_file_runs_against_the_main_collection(tmp_path: Path, settings: Settings) -> None:
    embedder = FakeEmbedder()
    store = open_store(settings)
    store.ensure_collection(embedder.dimension)
    catalog = Catalog(settings.catalog_path)
    for doc_id, version, text in [
        ("doc-leave", "v2", "New staff get twenty-five days of annual leave."),
        ("doc-travel", "v1", "Trips over five thousand euros need approval."),
        # an old version of the leave document, which search must not count
        ("doc-leave", "v1", "Do trips over five thousand euros need approval?"),
    ]:
        store.upsert([stored(doc_id, version, text, embedder)])
    # travel is for the finance group only: an operator's evaluation still sees it
    store.update_document("doc-travel", {"groups": ["finance"]})
    for doc_id, version in (("doc-leave", "v2"), ("doc-travel", "v1")):
        source = f"/srv/docs/{doc_id.removeprefix('doc-')}.md"
        catalog.record_ok(OkRecord(doc_id, source, "", "h", version, "p", 1, None, ()))
    store.close()
    catalog.close()
    gold = tmp_path / "gold.jsonl"
    rows = [
        {"question": "How many days of annual leave do new staff get?", "document": "leave.md"},
        {"question": "Do trips over five thousand euros need approval?", "document": "doc-travel"},
    ]
    gold.write_text("".join(json.dumps(row) + "\n" for row in rows))
    report = eval_retrieval(gold, settings, FakeEmbedder(), k=1, depth=10)
    assert report.dataset == "gold"
    for summary in report.summaries:
        assert (summary.ndcg, summary.recall_k, summary.queries) == (1.0, 1.0, 2), summary.mode


def stored(doc_id: str, version: str, text: str, embedder: FakeEmbedder) -> StoredChunk:
    chunk = Chunk(0, text, 0, len(text), (), ("NarrativeText",), None, None)
    return StoredChunk(
        point_id=point_id(doc_id, version, 0),
        doc_id=doc_id,
        version=version,
        chunk=chunk,
        title="",
        source=f"/srv/docs/{doc_id}.md",
        dense=embedder.embed([text])[0],
        sparse=encode_document(text),
    )


def test_anything_else_is_refused(tmp_path: Path, settings: Settings) -> None:
    with pytest.raises(DatasetError, match="no such folder or file"):
        eval_retrieval(tmp_path / "scifact", settings, FakeEmbedder())
    (tmp_path / "questions.csv").write_text("question,document\n")
    with pytest.raises(DatasetError, match=r"expected a BEIR folder or a \.jsonl gold file"):
        eval_retrieval(tmp_path / "questions.csv", settings, FakeEmbedder())


def test_report_table_and_json() -> None:
    row = ModeSummary("hybrid", 0.71234, 0.8, 0.95, 0.66666, 12.3, 40.05, 300)
    result = QueryResult("q1", ("d1", "d2"), 1.0, 1.0, 1.0, 1.0, 11.11111)
    setup = {"fusion": "dbsf", "prefetch": 100}
    report = EvalReport("scifact", 10, 100, [row], {"hybrid": [result]}, setup)
    console = recording_console()
    console.print(report_table(report))
    text = console.export_text()
    assert "Retrieval on scifact (fusion dbsf, prefetch 100)" in text
    for header in ("mode", "nDCG@10", "R@10", "R@100", "MRR@10", "p50 ms", "p95 ms", "queries"):
        assert header in text
    assert "hybrid" in text and "0.712" in text and "40.0" in text and "300" in text
    summary = json.loads(report.to_json())
    assert summary == {
        "dataset": "scifact",
        "k": 10,
        "depth": 100,
        "setup": {"fusion": "dbsf", "prefetch": 100},
        "modes": [
            {
                "mode": "hybrid",
                "ndcg": 0.7123,
                "recall_k": 0.8,
                "recall_depth": 0.95,
                "mrr": 0.6667,
                "p50_ms": 12.3,
                "p95_ms": 40.05,
                "queries": 300,
            }
        ],
    }
    detailed = json.loads(report.to_json(per_query=True))
    assert detailed["queries"]["hybrid"][0]["ranked"] == ["d1", "d2"]
    assert detailed["queries"]["hybrid"][0]["ms"] == 11.1111
