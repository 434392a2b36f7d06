"""Gold files: questions matched to catalog documents by id, path or file name."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from app.evaluation.beir import DatasetError
from app.evaluation.gold import load_gold, read_gold
from ingest.catalog import Catalog, DocumentRecord, OkRecord

SOURCES = {
    "id-handbook": "/srv/docs/hr/handbook.pdf",
    "id-travel": "/srv/docs/policies/travel.docx",
    "id-travel-old": "/srv/docs/archive/travel.docx",
}


@pytest.fixture
def documents(catalog: Catalog) -> list[DocumentRecord]:
    for doc_id, source in SOURCES.items():
        catalog.record_ok(OkRecord(doc_id, source, "", "hash-" + doc_id, "v1", "p", 3, None, ()))
    catalog.record_failed("id-broken", "/srv/docs/broken.pdf", "unreadable")
    return catalog.all()


def gold(tmp_path: Path, *rows: dict[str, Any] | str) -> Path:
    path = tmp_path / "gold.jsonl"
    lines = [row if isinstance(row, str) else json.dumps(row) for row in rows]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_documents_are_found_by_file_name_path_tail_source_or_id(
    tmp_path: Path, documents: list[DocumentRecord]
) -> None:
    path = gold(
        tmp_path,
        "# questions from the HR team",
        {"question": "How much leave?", "document": "handbook.pdf", "page": 4},
        "",
        {"question": "Who approves trips?", "document": "policies/travel.docx"},
        {"question": "What was the old rule?", "document": "/srv/docs/archive/travel.docx"},
        {"question": "Who approves trips?", "document": "id-handbook"},
    )
    dataset = load_gold(path, documents)
    assert dataset.name == "gold"
    assert dataset.corpus == {}
    assert dataset.queries == {
        "q1": "How much leave?",
        "q2": "Who approves trips?",
        "q3": "What was the old rule?",
    }
    assert dataset.qrels == {
        "q1": {"id-handbook": 1},
        "q2": {"id-travel": 1, "id-handbook": 1},  # the same question twice: two documents
        "q3": {"id-travel-old": 1},
    }


def test_page_is_kept_with_the_question(tmp_path: Path) -> None:
    path = gold(tmp_path, {"question": "Leave?", "document": "handbook.pdf", "page": 4})
    [item] = read_gold(path)
    assert (item.question, item.document, item.page, item.line) == (
        "Leave?",
        "handbook.pdf",
        4,
        1,
    )


def test_an_ambiguous_file_name_lists_the_candidates(
    tmp_path: Path, documents: list[DocumentRecord]
) -> None:
    path = gold(tmp_path, {"question": "Trips?", "document": "travel.docx"})
    with pytest.raises(DatasetError, match=r"gold\.jsonl:1: 'travel\.docx' matches 2 documents"):
        load_gold(path, documents)


@pytest.mark.parametrize("name", ["missing.pdf", "broken.pdf", "dbook.pdf"])
def test_unknown_failed_or_partial_names_match_nothing(
    tmp_path: Path, documents: list[DocumentRecord], name: str
) -> None:
    path = gold(tmp_path, {"question": "Anything?", "document": name})
    with pytest.raises(DatasetError, match=f"no ingested document matches '{name}'"):
        load_gold(path, documents)


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("{oops", "gold.jsonl:1: not valid JSON"),
        ('["a list"]', "expected a JSON object"),
        (json.dumps({"document": "handbook.pdf"}), "missing or empty 'question'"),
        (json.dumps({"question": "Q?", "document": " "}), "missing or empty 'document'"),
        (json.dumps({"question": "Q?", "document": "a.pdf", "page": 0}), "'page' must be"),
        (json.dumps({"question": "Q?", "document": "a.pdf", "page": "4"}), "'page' must be"),
    ],
)
def test_bad_lines_are_named(tmp_path: Path, row: str, message: str) -> None:
    with pytest.raises(DatasetError, match=message):
        read_gold(gold(tmp_path, row))


def test_missing_or_empty_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="is missing"):
        read_gold(tmp_path / "nope.jsonl")
    with pytest.raises(DatasetError, match="no questions"):
        read_gold(gold(tmp_path, "# nothing yet"))
