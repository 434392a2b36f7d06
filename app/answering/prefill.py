"""Compute the passage cells of a small collection ahead of its first questions.

With an in-process model keeping passage cells (DOCENT_PASSAGE_CACHE_MB), a question whose
passages are cached reads only the sources' headers and the question. For a collection whose
chunks' cells fit in half the cache, `docent serve` computes them after its warm start, one
chunk per turn on the model, so a question arriving meanwhile waits for one chunk at most. A
passage that joins neighbouring chunks is still computed on first use (its text is only known
at question time); a larger collection fills the cache on first use only.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from app.answering.answer import Answerer, model_turn
from ingest.catalog import DocumentCatalog, DocumentRecord
from ingest.store import VectorStore
from ingest.types import Passage

log = logging.getLogger(__name__)
TOKENS_PER_CHUNK = 220  # a chunk's tokens as quoted: the chunker's 200 and the "> " marks


@dataclass
class PrefillReport:
    chunks: int = 0  # chunks looked at
    computed: int = 0  # chunks whose cells were computed now
    stopped: str = ""  # why it stopped before the end, if it did


def prefill_collection(
    answerer: Answerer, catalog: DocumentCatalog, store: VectorStore, budget_bytes: int
) -> PrefillReport:
    """Compute every searchable chunk's cells, unless they would take more than half of
    `budget_bytes` (the passage cache's disk budget)."""
    records = [r for r in catalog.all() if r.version and r.status == "ok"]
    expected = sum(r.chunk_count for r in records)
    report = prefill_passages(answerer, _chunks(store, records), expected, budget_bytes // 2)
    log.info(
        "passage cells computed ahead: %d of %d chunks%s",
        report.computed,
        report.chunks,
        f" (stopped: {report.stopped})" if report.stopped else "",
    )
    return report


def prefill_passages(
    answerer: Answerer, passages: Iterable[Passage], expected: int, budget_bytes: int
) -> PrefillReport:
    """Compute the cells of `passages` (`expected` of them), each as a prompt's only source,
    one turn on the model each; stop once all of them would not fit in `budget_bytes`."""
    report = PrefillReport()
    generator = answerer.generator
    prepare = getattr(generator, "prepare", None)
    if prepare is None:
        report.stopped = "the model keeps no passage cells"
        return report
    for passage in passages:
        report.chunks += 1
        with model_turn(generator.queue):  # questions that came first go first
            filled = prepare(answerer.prompts.messages("", [passage]))
        if filled is None or filled.failed:
            report.stopped = filled.failed if filled else "the prompt has no quoted passage"
            return report
        if not filled.computed:
            continue
        report.computed += 1
        projected = filled.stored_bytes / filled.computed * TOKENS_PER_CHUNK * expected
        if projected > budget_bytes:
            report.stopped = (
                f"{expected} chunks would take about {projected / 2**20:.0f} MB,"
                f" more than {budget_bytes / 2**20:.0f} MB"
            )
            return report
    return report


def _chunks(store: VectorStore, records: Sequence[DocumentRecord]) -> Iterator[Passage]:
    for record in records:
        yield from store.document_chunks(record.doc_id, record.version)
