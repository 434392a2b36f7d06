"""Reading a BEIR benchmark: the judged queries only, CRLF qrels, clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.evaluation.beir import DatasetError, load_beir, read_qrels
from tests.app.data.evaluation import CORPUS, write_tiny_beir


def test_loads_corpus_judged_queries_and_graded_qrels(tmp_path: Path) -> None:
    dataset = load_beir(write_tiny_beir(tmp_path))
    assert dataset.name == "tiny"
    assert dataset.corpus == CORPUS
    assert set(dataset.queries) == {"q1", "q2", "q3"}  # q9 has no judgments
    assert dataset.queries["q1"] == "zebra migration across the Serengeti"
    assert dataset.qrels == {"q1": {"d1": 2}, "q2": {"d2": 1}, "q3": {"d4": 2, "d5": 1}}


def test_qrels_without_header_and_with_lf_endings(tmp_path: Path) -> None:
    path = tmp_path / "test.tsv"
    path.write_text("1\td1\t1\n1\td2\t0\n\n2\td3\t2\n")
    assert read_qrels(path) == {"1": {"d1": 1, "d2": 0}, "2": {"d3": 2}}


def test_missing_file_is_named(tmp_path: Path) -> None:
    folder = write_tiny_beir(tmp_path)
    (folder / "qrels" / "test.tsv").unlink()
    with pytest.raises(DatasetError, match=r"qrels/test\.tsv is missing"):
        load_beir(folder)


def test_bad_json_line_is_named_with_its_number(tmp_path: Path) -> None:
    folder = write_tiny_beir(tmp_path)
    with (folder / "corpus.jsonl").open("a") as corpus:
        corpus.write("{not json\n")
    with pytest.raises(DatasetError, match=r"corpus\.jsonl:6: not valid JSON"):
        load_beir(folder)


def test_document_without_id_is_refused(tmp_path: Path) -> None:
    folder = write_tiny_beir(tmp_path)
    with (folder / "corpus.jsonl").open("a") as corpus:
        corpus.write(json.dumps({"title": "t", "text": "x"}) + "\n")
    with pytest.raises(DatasetError, match=r"corpus\.jsonl:6: missing or empty '_id'"):
        load_beir(folder)


@pytest.mark.parametrize(
    ("line", "message"),
    [("q1\td1", "expected 3 tab-separated fields, got 2"), ("q1\td1\thigh", "'high'")],
)
def test_bad_qrels_line_is_named(tmp_path: Path, line: str, message: str) -> None:
    folder = write_tiny_beir(tmp_path)
    with (folder / "qrels" / "test.tsv").open("ab") as qrels:
        qrels.write(line.encode() + b"\r\n")
    with pytest.raises(DatasetError, match=rf"test\.tsv:6: .*{message}"):
        load_beir(folder)


def test_judged_document_missing_from_the_corpus_is_refused(tmp_path: Path) -> None:
    folder = write_tiny_beir(tmp_path)
    with (folder / "qrels" / "test.tsv").open("ab") as qrels:
        qrels.write(b"q1\tnowhere\t1\r\n")
    with pytest.raises(DatasetError, match=r"1 judged documents are not in corpus\.jsonl"):
        load_beir(folder)


def test_judged_query_missing_from_the_queries_is_refused(tmp_path: Path) -> None:
    folder = write_tiny_beir(tmp_path)
    with (folder / "qrels" / "test.tsv").open("ab") as qrels:
        qrels.write(b"q404\td1\t1\r\n")
    with pytest.raises(DatasetError, match="'q404'"):
        load_beir(folder)
