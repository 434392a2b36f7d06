"""Retrieval evaluation: benchmark (BEIR) and gold-file loaders, metrics, indexing, reports."""

from app.evaluation.beir import BeirDataset, DatasetError, load_beir
from app.evaluation.gold import load_gold, read_gold
from app.evaluation.index import (
    IndexOptions,
    IndexResult,
    collection_name,
    index_corpus,
)
from app.evaluation.report import EvalReport, ModeSummary, QueryResult, report_table
from app.evaluation.run import eval_retrieval, eval_store
from app.evaluation.runner import MODES, RERANK_MODE, Reranker, evaluate

__all__ = [
    "MODES",
    "RERANK_MODE",
    "BeirDataset",
    "DatasetError",
    "EvalReport",
    "IndexOptions",
    "IndexResult",
    "ModeSummary",
    "QueryResult",
    "Reranker",
    "collection_name",
    "eval_retrieval",
    "eval_store",
    "evaluate",
    "index_corpus",
    "load_beir",
    "load_gold",
    "read_gold",
    "report_table",
]
