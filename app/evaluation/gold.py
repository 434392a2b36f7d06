"""A gold set for the company's own knowledge base: questions and the documents that answer them.

The file is JSON Lines, one object per line (blank lines and lines starting with `#` are
skipped):

```
{"question": "How many days of leave do new staff get?", "document": "handbook.pdf"}
{"question": "Who approves travel over 5000 EUR?", "document": "policies/travel.docx", "page": 3}
```

- `question` (required): asked exactly as written.
- `document` (required): which ingested document answers it, as one of (tried in this order)
  its document id (`docent docs list`), its full source path, or the end of its source path at a
  folder boundary (`travel.docx`, `policies/travel.docx`). It must name exactly one document in
  the catalog; an unknown or ambiguous name is an error that lists the candidates.
- `page` (optional, a whole number >= 1): where the answer is; recorded, not scored (scores
  are per document).

The same question on several lines has several relevant documents (each grade 1). The
questions run against the main collection, already ingested: a gold set has no corpus.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.evaluation.beir import BeirDataset, DatasetError
from ingest.catalog import DocumentRecord


@dataclass(frozen=True)
class GoldItem:
    question: str
    document: str  # as written in the file
    page: int | None
    line: int


def read_gold(path: Path) -> list[GoldItem]:
    """The gold file's lines, checked; raises DatasetError naming the file and line."""
    if not path.is_file():
        raise DatasetError(f"{path} is missing (expected a JSON Lines gold file)")
    items = list(_items(path))
    if not items:
        raise DatasetError(f"{path}: no questions")
    return items


def load_gold(path: Path, documents: Sequence[DocumentRecord]) -> BeirDataset:
    """The gold file as queries and judgments over the catalog's document ids."""
    resolver = _Resolver([d for d in documents if d.status == "ok" and d.version])
    queries: dict[str, str] = {}
    qrels: dict[str, dict[str, int]] = {}
    ids: dict[str, str] = {}  # question -> query id
    for item in read_gold(path):
        doc_id = resolver.resolve(item, path)
        qid = ids.setdefault(item.question, f"q{len(ids) + 1}")
        queries[qid] = item.question
        qrels.setdefault(qid, {})[doc_id] = 1
    return BeirDataset(path.stem, {}, queries, qrels)


def _items(path: Path) -> Iterator[GoldItem]:
    with path.open(encoding="utf-8") as lines:
        for n, line in enumerate(lines, start=1):
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DatasetError(f"{path}:{n}: not valid JSON ({exc.msg})") from exc
            yield _item(row, path, n)


def _item(row: Any, path: Path, n: int) -> GoldItem:
    if not isinstance(row, dict):
        raise DatasetError(f"{path}:{n}: expected a JSON object")
    question, document, page = row.get("question"), row.get("document"), row.get("page")
    for key, value in (("question", question), ("document", document)):
        if not isinstance(value, str) or not value.strip():
            raise DatasetError(f"{path}:{n}: missing or empty {key!r}")
    if page is not None and (isinstance(page, bool) or not isinstance(page, int) or page < 1):
        raise DatasetError(f"{path}:{n}: 'page' must be a whole number from 1")
    assert isinstance(question, str) and isinstance(document, str)
    return GoldItem(question.strip(), document.strip(), page, n)


class _Resolver:
    """Finds the one catalog document a gold line names."""

    def __init__(self, documents: Sequence[DocumentRecord]) -> None:
        self.documents = documents

    def resolve(self, item: GoldItem, path: Path) -> str:
        name = item.document
        for matches in (self._by_id(name), self._by_source(name), self._by_tail(name)):
            if len(matches) == 1:
                return matches[0].doc_id
            if len(matches) > 1:
                listed = "; ".join(sorted(d.source for d in matches)[:5])
                raise DatasetError(
                    f"{path}:{item.line}: {name!r} matches {len(matches)} documents ({listed}): "
                    "give more of the path, or the document id"
                )
        raise DatasetError(
            f"{path}:{item.line}: no ingested document matches {name!r} "
            "(see `docent docs list`; ingest it first)"
        )

    def _by_id(self, name: str) -> list[DocumentRecord]:
        return [d for d in self.documents if d.doc_id == name]

    def _by_source(self, name: str) -> list[DocumentRecord]:
        return [d for d in self.documents if d.source == name]

    def _by_tail(self, name: str) -> list[DocumentRecord]:
        tail = Path(name).as_posix().lstrip("/")
        return [d for d in self.documents if Path(d.source).as_posix().endswith("/" + tail)]
