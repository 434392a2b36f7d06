"""Read a retrieval benchmark in the BEIR layout: a corpus, queries and graded judgments.

```
<name>/corpus.jsonl      {"_id", "title", "text"} one document per line
<name>/queries.jsonl     {"_id", "text"} one query per line (extra keys ignored)
<name>/qrels/<split>.tsv query-id <TAB> corpus-id <TAB> grade, optional header line
```

Only the queries judged in `qrels/<split>.tsv` form the test set. Line endings may be LF or CRLF.
Every judged query must exist in queries.jsonl and every judged document in corpus.jsonl.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any


class DatasetError(ValueError):
    """A benchmark or gold file that cannot be read; the message names the file and line."""


@dataclass(frozen=True)
class BeirDataset:
    """Queries with graded judgments, and (for a benchmark) the corpus to index.

    A gold set of the company's own documents (see `app.evaluation.gold`) has an empty corpus:
    its documents are already in the main collection.
    """

    name: str
    corpus: dict[str, tuple[str, str]]  # doc id -> (title, text)
    queries: dict[str, str]  # query id -> text, only judged queries
    qrels: dict[str, dict[str, int]]  # query id -> doc id -> grade (> 0 is relevant)


def load_beir(directory: Path, split: str = "test") -> BeirDataset:
    """The benchmark in `directory`; raises DatasetError naming any missing file or bad line."""
    corpus_path = _required(directory / "corpus.jsonl")
    queries_path = _required(directory / "queries.jsonl")
    qrels_path = _required(directory / "qrels" / f"{split}.tsv")
    qrels = read_qrels(qrels_path)
    corpus = dict(_read_corpus(corpus_path))
    all_queries = {
        _field(row, "_id", path, n): _field(row, "text", path, n)
        for path, n, row in _json_lines(queries_path)
    }
    _check_ids(qrels, all_queries, corpus, qrels_path)
    queries = {qid: all_queries[qid] for qid in qrels}
    return BeirDataset(directory.resolve().name, corpus, queries, qrels)


def read_qrels(path: Path) -> dict[str, dict[str, int]]:
    """`query-id<TAB>corpus-id<TAB>grade` lines; a first line whose grade is not a number is a
    header."""
    qrels: dict[str, dict[str, int]] = {}
    with path.open(encoding="utf-8", newline="") as lines:
        for n, line in enumerate(lines, start=1):
            fields = line.rstrip("\r\n").split("\t")
            if fields == [""]:
                continue
            if len(fields) != 3:
                raise DatasetError(
                    f"{path}:{n}: expected 3 tab-separated fields, got {len(fields)}"
                )
            qid, doc_id, grade = (f.strip() for f in fields)
            if not _is_int(grade):
                if n == 1:
                    continue  # header: query-id, corpus-id, score
                raise DatasetError(f"{path}:{n}: grade {grade!r} is not a whole number")
            qrels.setdefault(qid, {})[doc_id] = int(grade)
    if not qrels:
        raise DatasetError(f"{path}: no judgments")
    return qrels


def _read_corpus(path: Path) -> Iterator[tuple[str, tuple[str, str]]]:
    for _, n, row in _json_lines(path):
        title, text = row.get("title") or "", row.get("text")
        if not isinstance(title, str) or not isinstance(text, str):
            raise DatasetError(f"{path}:{n}: 'title' and 'text' must be strings")
        if not (title.strip() or text.strip()):
            raise DatasetError(f"{path}:{n}: document has neither title nor text")
        yield _field(row, "_id", path, n), (title, text)


def _check_ids(
    qrels: dict[str, dict[str, int]],
    queries: dict[str, str],
    corpus: dict[str, tuple[str, str]],
    qrels_path: Path,
) -> None:
    missing_queries = sorted(set(qrels) - set(queries))
    if missing_queries:
        raise DatasetError(
            f"{qrels_path}: {len(missing_queries)} judged queries are not in queries.jsonl "
            f"(first: {missing_queries[0]!r})"
        )
    missing_docs = sorted({d for judged in qrels.values() for d in judged} - set(corpus))
    if missing_docs:
        raise DatasetError(
            f"{qrels_path}: {len(missing_docs)} judged documents are not in corpus.jsonl "
            f"(first: {missing_docs[0]!r})"
        )


def _required(path: Path) -> Path:
    if not path.is_file():
        raise DatasetError(
            f"{path} is missing (expected the BEIR layout: corpus.jsonl, "
            "queries.jsonl, qrels/test.tsv)"
        )
    return path


def _json_lines(path: Path) -> Iterator[tuple[Path, int, dict[str, Any]]]:
    """Each non-blank line of a JSONL file as a JSON object, with its line number."""
    with path.open(encoding="utf-8") as lines:
        for n, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DatasetError(f"{path}:{n}: not valid JSON ({exc.msg})") from exc
            if not isinstance(row, dict):
                raise DatasetError(f"{path}:{n}: expected a JSON object")
            yield path, n, row


def _field(row: dict[str, Any], key: str, path: Path, line: int) -> str:
    value = row.get(key)
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str) or not value.strip():
        raise DatasetError(f"{path}:{line}: missing or empty {key!r}")
    return value


def _is_int(text: str) -> bool:
    try:
        int(text)
    except ValueError:
        return False
    return True
