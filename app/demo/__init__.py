"""Demo knowledge base for docent.

The demo corpus is the (entirely fictional) internal handbook of "Northwind
Lattice", a ~300-person industrial-sensors company. It lives in ``docs/`` and
deliberately mixes formats so that every ingestion path gets exercised:

* Markdown: ``employee-handbook.md``, ``it-security-policy.md``,
  ``company-overview.md``
* HTML: ``expenses-and-travel.html``
* PDF: ``benefits-guide.pdf`` (six pages, one topic per page)
* DOCX: ``onboarding-and-equipment.docx`` (real Word heading styles)
* Plain text: ``office-faq.txt``

Every fact lives in exactly one document, so each question has one correct
source. ``questions.jsonl`` holds questions with a short expected answer,
lowercase ``must_contain`` tokens, the source file name and (for the PDF) the
page number; ``unanswerable.jsonl`` holds plausible questions whose answers
are not in the corpus.

The PDF and DOCX are generated from content defined in ``tools/build_demo_docs.py``
(deterministically, so re-running gives identical files). After editing that
content, regenerate them from the repository root with::

    .venv/bin/python tools/build_demo_docs.py

and commit the resulting binaries. This package only uses the standard
library; the builder (which needs fpdf2 and python-docx) is a development tool
outside the installed package.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "DOCS_DIR",
    "QUESTIONS_FILE",
    "UNANSWERABLE_FILE",
    "DemoQuestion",
    "demo_documents",
    "demo_questions",
    "demo_unanswerable",
]

_HERE = Path(__file__).resolve().parent

DOCS_DIR: Path = _HERE / "docs"
QUESTIONS_FILE: Path = _HERE / "questions.jsonl"
UNANSWERABLE_FILE: Path = _HERE / "unanswerable.jsonl"


@dataclass(frozen=True)
class DemoQuestion:
    """A question about the demo corpus with its expected answer and source."""

    question: str
    answer: str
    must_contain: tuple[str, ...]
    document: str
    page: int | None


def demo_documents() -> list[Path]:
    """Return the demo documents (regular, non-hidden files), sorted by name."""
    return sorted(p for p in DOCS_DIR.iterdir() if p.is_file() and not p.name.startswith("."))


def _read_jsonl(path: Path) -> list[dict[str, object]]:
    records: list[dict[str, object]] = []
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                records.append(json.loads(line))
    return records


def demo_questions() -> list[DemoQuestion]:
    """Parse ``questions.jsonl`` into :class:`DemoQuestion` objects, in file order."""
    questions: list[DemoQuestion] = []
    for record in _read_jsonl(QUESTIONS_FILE):
        page = record.get("page")
        must_contain = record.get("must_contain", [])
        if not isinstance(must_contain, list):
            raise ValueError(f"must_contain must be a list: {record!r}")
        questions.append(
            DemoQuestion(
                question=str(record["question"]),
                answer=str(record["answer"]),
                must_contain=tuple(str(token) for token in must_contain),
                document=str(record["document"]),
                page=int(page) if isinstance(page, (int, str)) else None,
            )
        )
    return questions


def demo_unanswerable() -> list[str]:
    """Return the questions from ``unanswerable.jsonl`` (not answered by the corpus)."""
    return [str(record["question"]) for record in _read_jsonl(UNANSWERABLE_FILE)]
