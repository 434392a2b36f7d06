"""Index a benchmark corpus into its own collection, once, and reuse it across runs.

Each document becomes two elements, a Title (its title) and a NarrativeText (its text), and goes
through the same chunker, embedding text and sparse encoder as ingestion. The collection is named
after the dataset, the embedder, the chunk settings and the chunker and sparse-encoder versions;
a manifest `<collection>.json` records what was indexed, so a later run with the same corpus and
settings skips indexing.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from app.evaluation.beir import BeirDataset
from ingest.chunk import chunk_elements, embedding_text
from ingest.embed import Embedder
from ingest.pipeline import CHUNKER_VERSION
from ingest.planning import point_id
from ingest.sparse import VERSION as SPARSE_VERSION
from ingest.sparse import encode_document
from ingest.store import QdrantStore
from ingest.types import Chunk, Element, StoredChunk

VERSION = "eval"  # every benchmark chunk's version: one corpus, written once
INDEX_FORMAT = 1  # bump when the way documents become chunks changes
BATCH_TEXTS = 128  # chunks embedded per call (the embedder batches inside)

IndexProgress = Callable[[int, int], None]  # (documents done, chunks written)


@dataclass(frozen=True)
class IndexOptions:
    chunk_tokens: int = 200
    chunk_overlap: int = 30


@dataclass(frozen=True)
class Manifest:
    """What a collection holds; equal manifests mean the collection can be reused."""

    collection: str
    embedder: str
    chunk_tokens: int
    chunk_overlap: int
    documents: int
    corpus_sha256: str
    chunker: str = CHUNKER_VERSION
    sparse: str = SPARSE_VERSION
    index_format: int = INDEX_FORMAT


@dataclass(frozen=True)
class IndexResult:
    collection: str
    documents: int
    chunks: int
    reused: bool  # True: the collection was already complete, nothing was embedded


def collection_name(dataset: str, embedder: str, options: IndexOptions) -> str:
    """e.g. `eval-scifact-all-MiniLM-L6-v2-200-30-s2c2` (a model folder counts by its name)."""
    model = Path(embedder).name or embedder
    versions = f"s{SPARSE_VERSION}c{CHUNKER_VERSION}"  # new encodings, new collection
    name = f"eval-{dataset}-{model}-{options.chunk_tokens}-{options.chunk_overlap}-{versions}"
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name)


def corpus_hash(dataset: BeirDataset) -> str:
    digest = hashlib.sha256()
    for doc_id in sorted(dataset.corpus):
        digest.update(json.dumps([doc_id, *dataset.corpus[doc_id]]).encode("utf-8") + b"\n")
    return digest.hexdigest()


def index_corpus(
    dataset: BeirDataset,
    embedder: Embedder,
    store: QdrantStore,
    manifest_path: Path,
    options: IndexOptions | None = None,
    progress: IndexProgress | None = None,
) -> IndexResult:
    """Make `store`'s collection hold the corpus; skipped when the manifest says it does.

    `manifest_path` is `<eval dir>/<collection>.json`; it is written after the last point. A
    collection that is not reusable (another corpus or encoder version, an interrupted run) is
    emptied first, so no point of an earlier index is left behind.
    """
    options = options or IndexOptions()
    collection = manifest_path.stem
    manifest = Manifest(
        collection,
        embedder.name,
        options.chunk_tokens,
        options.chunk_overlap,
        len(dataset.corpus),
        corpus_hash(dataset),
    )
    path = manifest_path
    store.ensure_collection(embedder.dimension)
    chunks = _complete_chunks(path, manifest, store)
    if chunks is not None:
        return IndexResult(collection, manifest.documents, chunks, reused=True)
    if store.count():
        _drop(store)
        store.ensure_collection(embedder.dimension)
    written = _write_all(dataset, embedder, store, options, progress)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(asdict(manifest) | {"chunks": written}, indent=2) + "\n")
    return IndexResult(collection, manifest.documents, written, reused=False)


def _drop(store: QdrantStore) -> None:
    """Remove the whole collection (the store has no public call for it; the eval one only)."""
    store._client.delete_collection(store.collection)


def _complete_chunks(path: Path, manifest: Manifest, store: QdrantStore) -> int | None:
    """The chunk count of a finished index of this very corpus and settings, else None."""
    if not path.is_file():
        return None
    try:
        recorded = json.loads(path.read_text())
        chunks = int(recorded.pop("chunks"))
    except (ValueError, TypeError, KeyError, AttributeError):
        return None  # unreadable: index again
    same = recorded == asdict(manifest)  # a field missing from an older manifest differs too
    return chunks if same and store.count() == chunks else None


def _write_all(
    dataset: BeirDataset,
    embedder: Embedder,
    store: QdrantStore,
    options: IndexOptions,
    progress: IndexProgress | None,
) -> int:
    written = 0
    if progress:
        progress(0, 0)
    for documents_done, batch in _batches(dataset, embedder, options):
        store.upsert(_embedded(batch, embedder))
        written += len(batch)
        if progress:
            progress(documents_done, written)
    return written


@dataclass(frozen=True)
class _Pending:
    """A chunk waiting for its vectors."""

    doc_id: str
    title: str
    chunk: Chunk
    text: str  # what gets embedded


def _batches(
    dataset: BeirDataset, embedder: Embedder, options: IndexOptions
) -> Iterator[tuple[int, list[_Pending]]]:
    """Chunks of whole documents, about BATCH_TEXTS at a time, with documents done so far."""
    budget = min(options.chunk_tokens, embedder.max_tokens)
    overlap = min(options.chunk_overlap, budget - 1)
    batch: list[_Pending] = []
    for done, (doc_id, (title, text)) in enumerate(dataset.corpus.items(), start=1):
        elements = [Element(title, "Title"), Element(text, "NarrativeText")]
        for chunk in chunk_elements(elements, embedder.count_tokens, budget, overlap):
            batch.append(_Pending(doc_id, title, chunk, _fitting_text(title, chunk, embedder)))
        if len(batch) >= BATCH_TEXTS or done == len(dataset.corpus):
            yield done, batch
            batch = []


def _fitting_text(title: str, chunk: Chunk, embedder: Embedder) -> str:
    """As ingestion does: title and headings as context unless they push past the model."""
    text = embedding_text(title, chunk)
    return text if embedder.count_tokens(text) <= embedder.max_tokens else chunk.text


def _embedded(batch: list[_Pending], embedder: Embedder) -> list[StoredChunk]:
    vectors = embedder.embed([p.text for p in batch])
    return [
        StoredChunk(
            point_id=point_id(p.doc_id, VERSION, p.chunk.index),
            doc_id=p.doc_id,
            version=VERSION,
            chunk=p.chunk,
            title=p.title,
            source=p.doc_id,
            dense=vector,
            sparse=encode_document(p.text),
        )
        for p, vector in zip(batch, vectors, strict=True)
    ]
