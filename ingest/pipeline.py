"""Ingest files end to end: plan -> parse (in workers) -> chunk -> embed -> store -> commit.

Write order, for crash safety: a new document gets a `pending` catalog row; its chunks are
written under a new version; the catalog switches the document to that version in one
transaction (search shows only a document's current version); old versions are deleted last.
Killed anywhere, the next run converges to the same state: ids are deterministic.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from ingest.catalog import DocumentCatalog, DocumentRecord, OkRecord
from ingest.chunk import chunk_elements, embedding_text
from ingest.embed import Embedder
from ingest.errors import Refused
from ingest.ocr import OCR_AUTO, OcrOptions
from ingest.parse import UnsupportedFormat
from ingest.planning import (
    Plan,
    chunk_version,
    document_id,
    expand_paths,
    plan_file,
    point_id,
    vanished,
)
from ingest.regions import placed
from ingest.sparse import VERSION as SPARSE_VERSION
from ingest.sparse import encode_document
from ingest.store import VectorStore
from ingest.types import Chunk, ParsedDocument, StoredChunk
from ingest.workers import Outcome, parse_in_order

__all__ = [
    "IngestOptions",
    "IngestResult",
    "document_id",
    "expand_paths",
    "ingest_paths",
    "remove_document",
]

EMBED_BATCH_TEXTS = 64  # texts gathered across documents before one embedding call
log = logging.getLogger(__name__)
PARSER_VERSION = "12"  # 4: OCR, pages; 5: ligatures, minus signs; 6: HTML permalink marks;
# 7: HTML navigation; 8: PDF running titles, code-shaped titles, manual pages named, HTML
# menu bars and <title>; 9: underlined plain-text titles, Sphinx entries as headings;
# 10: lower-case numbered entries, guessed titles kept inside the entry above them, file
# names keep their capitals as titles; 11: tables of contents in plain text and on a book's
# front page, plain-text chapter lines; 12: HTML definition terms begin their descriptions,
# question terms head their answers
CHUNKER_VERSION = "2"

Status = Literal["new", "updated", "unchanged", "moved", "removed", "failed", "skipped"]
_QUICK_STATUS: dict[str, Status] = {
    "unchanged": "unchanged",
    "move": "moved",
    "regroup": "updated",
    "skip": "skipped",
    "fail": "failed",
    "new": "new",
    "update": "updated",
}


@dataclass(frozen=True)
class IngestOptions:
    chunk_tokens: int = 200
    chunk_overlap: int = 30
    groups: tuple[str, ...] = ()
    workers: int = 0  # parser processes; 0 parses in this process
    sync: bool = False  # remove documents under the given folders whose files are gone
    dry_run: bool = False  # report what would happen; change nothing
    force: bool = False  # parse and embed again even when nothing changed (reindex)
    max_file_bytes: int = 200 << 20  # larger files are skipped
    parse_timeout: float | None = None  # seconds per file in a parser process; None: no limit
    tags: tuple[str, ...] = ()  # labels for search filters; like groups, they replace earlier ones
    ocr: OcrOptions = OCR_AUTO  # reading pictures: scans, photos, pictures in documents


@dataclass(frozen=True)
class IngestResult:
    source: str
    status: Status
    chunks: int = 0
    pages: int | None = None
    reason: str | None = None
    notes: tuple[str, ...] = ()  # how it was read (a scanned page OCR found no text on)


ResultHook = Callable[[IngestResult], None]


def pipeline_fingerprint(embedder: Embedder, options: IngestOptions) -> str:
    """Everything that changes the stored vectors; a change means re-embedding."""
    return (
        f"parser={PARSER_VERSION};chunker={CHUNKER_VERSION};sparse={SPARSE_VERSION};"
        f"embedder={embedder.name};ocr={options.ocr.mode};"
        f"tokens={options.chunk_tokens};overlap={options.chunk_overlap}"
    )


def ingest_paths(
    paths: Sequence[Path],
    *,
    embedder: Embedder,
    store: VectorStore,
    catalog: DocumentCatalog,
    options: IngestOptions,
    on_result: ResultHook | None = None,
    roots: Sequence[Path] | None = None,
) -> list[IngestResult]:
    """Ingest every file under `paths`; one bad file is reported and never stops the rest.

    With `roots`, `paths` are entries already listed under those roots (one batch shared by
    several workers): they are taken as they are, and links are judged as under `roots` (one
    named there is followed, one found in a folder is not); `sync` removes under `roots`."""
    writer = _Writer(embedder, store, catalog, options)
    results: list[IngestResult] = []

    def emit(result: IngestResult) -> None:
        results.append(result)
        if on_result:
            on_result(result)

    if not options.dry_run:
        store.ensure_collection(embedder.dimension)
        forget_if_store_is_empty(store, catalog)
    fingerprint = pipeline_fingerprint(embedder, options)
    scope = paths if roots is None else roots
    listed = expand_paths(paths) if roots is None else iter(paths)
    to_parse: list[tuple[Plan, Path]] = []
    for path in listed:
        plan = plan_file(
            path, catalog, fingerprint, options.groups, force=options.force, roots=scope
        )
        plan = _retagged(plan, options.tags)
        if options.dry_run or plan.action not in ("new", "update"):
            emit(writer.quick(plan))
        else:
            to_parse.append((plan, plan.path))
    batch: list[_Parsed] = []
    parsed = parse_in_order(
        to_parse, options.workers, options.max_file_bytes, options.parse_timeout, options.ocr
    )
    for plan, outcome in parsed:
        batch.append(writer.chunked(plan, outcome))
        if sum(len(item.texts) for item in batch) >= EMBED_BATCH_TEXTS:
            for result in writer.write_batch(batch, fingerprint):
                emit(result)
            batch = []
    for result in writer.write_batch(batch, fingerprint):
        emit(result)
    if options.sync:
        for record in vanished(catalog, scope):
            emit(writer.remove(record.doc_id, record.source))
    return results


def forget_if_store_is_empty(store: VectorStore, catalog: DocumentCatalog) -> int:
    """An empty store with committed documents in the catalog (a new store kind, a deleted
    store folder): the catalog is stale, so every file is ingested again."""
    if store.count() == 0 and any(r.status == "ok" for r in catalog.all()):
        forgotten = catalog.forget_all()
        log.warning(
            "the vector store is empty: %d catalog entries will be ingested again", forgotten
        )
        return forgotten
    return 0


def remove_document(doc_id: str, store: VectorStore, catalog: DocumentCatalog) -> None:
    """Unsearchable first (catalog), then the points: a crash leaves nothing visible."""
    catalog.remove(doc_id)
    store.delete_document(doc_id)


@dataclass
class _Parsed:
    """A parsed (or failed) file, chunked, waiting for its batch to be embedded."""

    plan: Plan
    outcome: Outcome
    chunks: list[Chunk] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    vectors: list[list[float]] = field(default_factory=list)
    error: str | None = None


class _Writer:
    """Applies plans to the store and the catalog in the crash-safe order."""

    def __init__(
        self,
        embedder: Embedder,
        store: VectorStore,
        catalog: DocumentCatalog,
        options: IngestOptions,
    ) -> None:
        self.embedder, self.store, self.catalog, self.options = embedder, store, catalog, options

    def quick(self, plan: Plan) -> IngestResult:
        """Plans that need no parsing (and every plan in a dry run)."""
        record = plan.record
        chunks = record.chunk_count if record else 0
        pages = record.pages if record else None
        status = _QUICK_STATUS[plan.action]
        if self.options.dry_run:
            return IngestResult(plan.source, status, chunks, pages, plan.reason)
        if plan.action == "skip" and plan.doc_id:  # recorded, so `docs list` shows why
            reason = plan.reason or ""  # (no doc_id: a name the catalog cannot hold)
            self.catalog.record_failed(plan.doc_id, plan.source, reason, "skipped")
        if plan.action in ("skip", "fail"):
            return IngestResult(plan.source, status, reason=plan.reason)
        assert record is not None
        if plan.action == "move":
            self.store.update_document(record.doc_id, {"source": plan.source})
            self.catalog.move(record.doc_id, plan.source)
        elif plan.action == "regroup":
            labels = {"groups": list(self.options.groups), "tags": list(self.options.tags)}
            self.store.update_document(record.doc_id, labels)
            self.catalog.record_ok(_regrouped(record, self.options.groups, self.options.tags))
        needed = record.cleanup_pending or plan.action != "unchanged"
        self._clean(record.doc_id, record.version, needed)
        return IngestResult(plan.source, status, chunks, pages)

    def chunked(self, plan: Plan, outcome: Outcome) -> _Parsed:
        item = _Parsed(plan, outcome)
        if isinstance(outcome, ParsedDocument):
            try:
                item.chunks, item.texts = self._chunk(outcome)
            except Exception as exc:  # a chunker bug on one document fails that file only
                item.error = f"{type(exc).__name__}: {exc}"
        return item

    def write_batch(self, batch: list[_Parsed], fingerprint: str) -> Iterator[IngestResult]:
        """One embedding call for the whole batch (less padding, fewer calls), then write each
        document in order, committing each on its own."""
        texts = [text for item in batch if item.error is None for text in item.texts]
        try:
            vectors = self.embedder.embed(texts) if texts else []
        except Exception as exc:  # the embedder failed: every document in the batch fails
            for item in batch:
                item.error = item.error or f"embedding failed: {type(exc).__name__}: {exc}"
            vectors = []
        position = 0
        for item in batch:
            if item.error is None and item.texts:
                item.vectors = vectors[position : position + len(item.texts)]
                position += len(item.texts)
            yield self.write(item, fingerprint)

    def write(self, item: _Parsed, fingerprint: str) -> IngestResult:
        plan, outcome = item.plan, item.outcome
        status: Status = "updated" if plan.action == "update" else "new"
        if isinstance(outcome, Refused | UnsupportedFormat):
            self.catalog.record_failed(plan.doc_id, plan.source, str(outcome), "skipped")
            return IngestResult(plan.source, "skipped", reason=str(outcome))
        if not isinstance(outcome, ParsedDocument):
            return self._failed(plan, str(outcome))
        if item.error is not None:
            return self._failed(plan, item.error)
        try:
            version = chunk_version(outcome.content_hash, fingerprint)
            stored = self._stored(plan.doc_id, version, outcome, item)
            if plan.record is None:
                self.catalog.record_pending(plan.doc_id, plan.source, outcome.content_hash)
            self.store.upsert(stored)
            self.catalog.record_ok(
                OkRecord(
                    plan.doc_id,
                    plan.source,
                    outcome.title,
                    outcome.content_hash,
                    version,
                    fingerprint,
                    len(stored),
                    outcome.pages,
                    self.options.groups,
                    self.options.tags,
                    outcome.notes,
                )
            )
        except Exception as exc:  # a store error fails this file only
            return self._failed(plan, f"{type(exc).__name__}: {exc}")
        self._clean(plan.doc_id, version, True)
        pages = outcome.pages
        return IngestResult(plan.source, status, len(stored), pages, plan.reason, outcome.notes)

    def remove(self, doc_id: str, source: str) -> IngestResult:
        if not self.options.dry_run:
            remove_document(doc_id, self.store, self.catalog)
        return IngestResult(source, "removed", reason="file no longer exists")

    def _failed(self, plan: Plan, reason: str) -> IngestResult:
        self.catalog.record_failed(plan.doc_id, plan.source, reason)
        return IngestResult(plan.source, "failed", reason=reason)

    def _clean(self, doc_id: str, version: str, needed: bool) -> None:
        """Delete the document's points of any other version (after the commit point)."""
        if needed and version:
            self.store.delete_document(doc_id, keep_version=version)
            self.catalog.mark_cleaned(doc_id)

    def _chunk(self, document: ParsedDocument) -> tuple[list[Chunk], list[str]]:
        budget = min(self.options.chunk_tokens, self.embedder.max_tokens)
        overlap = min(self.options.chunk_overlap, budget - 1)
        chunks = chunk_elements(document.elements, self.embedder.count_tokens, budget, overlap)
        chunks = placed(chunks, document.elements)
        texts = [_fitting_embedding_text(document.title, c, self.embedder) for c in chunks]
        return chunks, texts

    def _stored(
        self, doc_id: str, version: str, document: ParsedDocument, item: _Parsed
    ) -> list[StoredChunk]:
        source = str(Path(document.source).resolve())
        modified = _modified(Path(source))
        ingested = datetime.now(UTC)
        return [
            StoredChunk(
                point_id=point_id(doc_id, version, chunk.index),
                doc_id=doc_id,
                version=version,
                chunk=chunk,
                title=document.title,
                source=source,
                dense=vector,
                sparse=encode_document(text),
                groups=self.options.groups,
                tags=self.options.tags,
                modified=modified,
                ingested=ingested,
            )
            for chunk, vector, text in zip(item.chunks, item.vectors, item.texts, strict=True)
        ]


def _regrouped(record: DocumentRecord, groups: tuple[str, ...], tags: tuple[str, ...]) -> OkRecord:
    """The same committed version with other groups and tags."""
    labels = ("groups", "tags")
    kept = {f.name: getattr(record, f.name) for f in fields(OkRecord) if f.name not in labels}
    return OkRecord(**kept, groups=groups, tags=tags)


def _retagged(plan: Plan, tags: tuple[str, ...]) -> Plan:
    """An unchanged file whose tags changed: its payload is updated, nothing is embedded."""
    if plan.action == "unchanged" and plan.record and set(plan.record.tags) != set(tags):
        return replace(plan, action="regroup")
    return plan


def _modified(path: Path) -> datetime | None:
    try:
        return datetime.fromtimestamp(path.stat().st_mtime, UTC)
    except OSError:
        return None


def _fitting_embedding_text(title: str, chunk: Chunk, embedder: Embedder) -> str:
    """Title and headings as context, dropped when they would push the chunk past the model."""
    text = embedding_text(title, chunk)
    if embedder.count_tokens(text) <= embedder.max_tokens:
        return text
    return chunk.text
