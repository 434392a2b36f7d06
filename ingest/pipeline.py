"""Ingest files end to end: hash -> (skip if unchanged) -> parse -> chunk -> embed -> store."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from ingest.catalog import Catalog, DocumentRecord
from ingest.chunk import chunk_elements, embedding_text
from ingest.embed import Embedder
from ingest.parse import SUPPORTED_SUFFIXES, ParseError, file_hash, parse_file
from ingest.sparse import encode_document
from ingest.store import VectorStore
from ingest.types import Chunk, ParsedDocument, StoredChunk

PARSER_VERSION = "1"
CHUNKER_VERSION = "1"
_NAMESPACE = uuid.UUID("6f1c1d3e-9b1a-4a53-8d0e-2f6c0d6e7a11")

Status = Literal["new", "updated", "unchanged", "failed", "skipped"]


@dataclass(frozen=True)
class IngestOptions:
    chunk_tokens: int = 200
    chunk_overlap: int = 30
    groups: tuple[str, ...] = ()


@dataclass(frozen=True)
class IngestResult:
    source: str
    status: Status
    chunks: int = 0
    reason: str | None = None


ProgressHook = Callable[[IngestResult], None]


def document_id(source: Path) -> str:
    """Deterministic id of a source file (its absolute path)."""
    return str(uuid.uuid5(_NAMESPACE, str(source.resolve())))


def chunk_version(content_hash: str, fingerprint: str) -> str:
    """Identifies one document's chunks: new bytes or new chunk/embedding settings, new version."""
    return str(uuid.uuid5(_NAMESPACE, f"{content_hash}:{fingerprint}"))


def point_id(doc_id: str, version: str, index: int) -> str:
    return str(uuid.uuid5(_NAMESPACE, f"{doc_id}:{version}:{index}"))


def pipeline_fingerprint(embedder: Embedder, options: IngestOptions) -> str:
    """Everything that changes the stored points; a change means storing the document again."""
    return (
        f"parser={PARSER_VERSION};chunker={CHUNKER_VERSION};embedder={embedder.name};"
        f"tokens={options.chunk_tokens};overlap={options.chunk_overlap};"
        f"groups={','.join(sorted(options.groups))}"
    )


def expand_paths(paths: Iterable[Path]) -> Iterator[Path]:
    """Files named directly, and supported files found under folders (hidden ones skipped)."""
    for path in paths:
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                hidden = any(part.startswith(".") for part in child.relative_to(path).parts)
                if child.is_file() and not hidden and child.suffix.lower() in SUPPORTED_SUFFIXES:
                    yield child
        else:
            yield path


def ingest_paths(
    paths: Sequence[Path],
    *,
    embedder: Embedder,
    store: VectorStore,
    catalog: Catalog,
    options: IngestOptions,
    on_result: ProgressHook | None = None,
) -> list[IngestResult]:
    """Ingest every file; one bad file is reported and never stops the rest."""
    store.ensure_collection(embedder.dimension)
    results = []
    for path in expand_paths(paths):
        result = ingest_file(path, embedder=embedder, store=store, catalog=catalog, options=options)
        results.append(result)
        if on_result:
            on_result(result)
    return results


def ingest_file(
    path: Path, *, embedder: Embedder, store: VectorStore, catalog: Catalog, options: IngestOptions
) -> IngestResult:
    if not path.is_file():
        return IngestResult(str(path), "failed", reason="no such file")
    source = str(path.resolve())
    doc_id = document_id(path)
    fingerprint = pipeline_fingerprint(embedder, options)
    try:
        previous = catalog.get(doc_id)
        digest = file_hash(path)
        if previous and _is_current(previous, digest, fingerprint):
            return IngestResult(source, "unchanged", previous.chunk_count)
        document = parse_file(path)
        version = chunk_version(document.content_hash, fingerprint)
        stored = _prepare(doc_id, version, document, embedder, options)
        store.upsert(stored)
        store.delete_document(doc_id, keep_version=version)
    except Exception as exc:  # one bad file must not stop the batch
        reason = str(exc) if isinstance(exc, ParseError) else f"{type(exc).__name__}: {exc}"
        catalog.record_failed(doc_id, source, reason)
        return IngestResult(source, "failed", reason=reason)
    catalog.record_ok(
        doc_id, source, document.title, document.content_hash, fingerprint, len(stored)
    )
    status: Status = "updated" if previous and previous.status == "ok" else "new"
    return IngestResult(source, status, len(stored))


def _is_current(record: DocumentRecord, digest: str, fingerprint: str) -> bool:
    """Stored from these very bytes with these very settings, and not failed since."""
    return (
        record.status == "ok"
        and record.error is None
        and record.content_hash == digest
        and record.pipeline == fingerprint
    )


def _prepare(
    doc_id: str,
    version: str,
    document: ParsedDocument,
    embedder: Embedder,
    options: IngestOptions,
) -> list[StoredChunk]:
    budget = min(options.chunk_tokens, embedder.max_tokens)
    chunks = chunk_elements(
        document.elements, embedder.count_tokens, budget, min(options.chunk_overlap, budget - 1)
    )
    texts = [_fitting_embedding_text(document.title, c, embedder) for c in chunks]
    vectors = embedder.embed(texts)
    return [
        StoredChunk(
            point_id=point_id(doc_id, version, chunk.index),
            doc_id=doc_id,
            version=version,
            chunk=chunk,
            title=document.title,
            source=str(Path(document.source).resolve()),
            dense=vector,
            sparse=encode_document(text),
            groups=options.groups,
        )
        for chunk, vector, text in zip(chunks, vectors, texts, strict=True)
    ]


def _fitting_embedding_text(title: str, chunk: Chunk, embedder: Embedder) -> str:
    """Title and headings as context, dropped when they would push the chunk past the model."""
    text = embedding_text(title, chunk)
    if embedder.count_tokens(text) <= embedder.max_tokens:
        return text
    return chunk.text
