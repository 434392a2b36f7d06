"""The `VectorStore` on Qdrant Edge (qdrant-edge-py): Qdrant's engine in-process, with indexes.

Same layout and semantics as `QdrantStore` (named dense "dense" cosine + sparse "sparse" with
the IDF modifier, the same payload and access filter), but searches use HNSW and payload
indexes instead of qdrant-client local mode's NumPy scan.

On disk: `<path>/<collection>/` is the shard; `<path>/<collection>.lock` is held (flock) while
a process has it open, so a second process gets `StoreLocked`.

Indexes: fresh points are searchable at once (plain segment, exact scan in Rust). After
`optimize_after` upserted points, `optimize()` builds the HNSW graph for them. It blocks the
whole process while it runs (qdrant-edge keeps the GIL), so callers that ingest in bulk may
prefer to call `optimize()` themselves at the end of a run.
"""

from __future__ import annotations

import fcntl
import logging
import os
import re
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ingest.access import PUBLIC, Access
from ingest.store import (
    DATETIME_FIELDS,
    DEFAULT_FUSION,
    DENSE,
    KEYWORD_FIELDS,
    SPARSE,
    Fusion,
    SearchMode,
    StoreLocked,
    StoreMismatch,
    _passage,
    _payload,
    check_fusion,
    prefetch_depth,
    similarity,
)
from ingest.types import Passage, SearchFilters, SparseVector, StoredChunk

if TYPE_CHECKING:
    from qdrant_edge import (
        EdgeConfig,
        EdgeShard,
        FieldCondition,
        Filter,
        KeywordIndexParams,
        NamedVector,
        Point,
        QueryRequest,
    )

log = logging.getLogger(__name__)

OPTIMIZE_AFTER = 10_000  # upserted points between automatic index builds
RRF_K = 2  # 1/(k + rank), as qdrant-client local mode and the server default to
SCROLL_PAGE = 256
_STORED_SIZE = re.compile(r"but got (\d+)")  # qdrant-edge's incompatible-config error


class EdgeStore:
    """One Qdrant Edge shard under `path`; one process at a time, one call at a time."""

    def __init__(
        self, collection: str, *, path: Path, optimize_after: int | None = OPTIMIZE_AFTER
    ) -> None:
        _require_package()
        path.mkdir(parents=True, exist_ok=True)
        self.collection = collection
        self._dir = path / collection
        self._lock_fd: int | None = _lock_exclusively(path / f"{collection}.lock")
        self._lock = threading.RLock()  # qdrant-edge does not document thread safety
        self._shard: EdgeShard | None = None
        self._dimension: int | None = None
        self._optimize_after = optimize_after
        self._pending = 0  # points upserted since the last index build

    def ensure_collection(self, dimension: int) -> None:
        with self._lock:
            if self._dimension is not None:
                self._check_known_dimension(dimension)
                return
            if self._shard is not None:  # opened without a config: reopen to have it checked
                self._shard.close()
                self._shard = None
            self._shard = _open_or_create(self._dir, dimension, self.collection)
            self._dimension = dimension

    def _check_known_dimension(self, dimension: int) -> None:
        if dimension != self._dimension:
            raise StoreMismatch(_mismatch_message(self.collection, self._dimension, dimension))

    def upsert(self, chunks: Sequence[StoredChunk]) -> None:
        from qdrant_edge import UpdateOperation

        if not chunks:
            return
        with self._lock:
            shard = self._require_shard()
            shard.update(UpdateOperation.upsert_points([_point(c) for c in chunks]))
            self._pending += len(chunks)
            if self._optimize_after is not None and self._pending >= self._optimize_after:
                self.optimize()

    def optimize(self) -> bool:
        """Build the indexes for points written since the last build; True if anything changed."""
        with self._lock:
            shard = self._open_shard()
            if shard is None:
                return False
            start = time.perf_counter()
            changed = shard.optimize()
            self._pending = 0
            if changed:
                log.info("vector indexes built in %.1f s", time.perf_counter() - start)
            return changed

    def delete_document(self, doc_id: str, keep_version: str | None = None) -> None:
        from qdrant_edge import Filter, UpdateOperation

        selector = Filter(
            must=[_equals("doc_id", doc_id)],
            must_not=[_equals("version", keep_version)] if keep_version is not None else None,
        )
        with self._lock:
            shard = self._open_shard()
            if shard is not None:
                shard.update(UpdateOperation.delete_points_by_filter(selector))

    def update_document(self, doc_id: str, fields: dict[str, Any]) -> None:
        """Change payload fields (source, title, groups) of every point of a document."""
        from qdrant_edge import Filter, UpdateOperation

        selector = Filter(must=[_equals("doc_id", doc_id)])
        with self._lock:
            shard = self._open_shard()
            if shard is not None:
                shard.update(UpdateOperation.set_payload_by_filter(selector, fields))

    def document_chunks(self, doc_id: str, version: str) -> list[Passage]:
        """One version of a document's chunks, in document order."""
        from qdrant_edge import Filter, ScrollRequest

        selector = Filter(must=[_equals("doc_id", doc_id), _equals("version", version)])
        passages: list[Passage] = []
        with self._lock:
            shard = self._open_shard()
            offset = None
            while shard is not None:
                request = ScrollRequest(
                    offset=offset, limit=SCROLL_PAGE, filter=selector, with_payload=True
                )
                records, offset = shard.scroll(request)
                passages += [_passage(str(r.id), r.payload or {}, 0.0) for r in records]
                if offset is None:
                    break
        return sorted(passages, key=lambda p: p.chunk_index)

    def search(
        self,
        dense: list[float],
        sparse: SparseVector,
        limit: int,
        mode: SearchMode = "hybrid",
        access: Access = PUBLIC,
        *,
        fusion: Fusion = DEFAULT_FUSION,
        prefetch: int | None = None,
        filters: SearchFilters | None = None,
    ) -> list[Passage]:
        """One query; documents the asker may not read, and those `filters` leave out, are
        filtered inside it. A hybrid query fuses `prefetch` dense and `prefetch` sparse
        candidates (see `prefetch_depth`)."""
        hybrid = _Hybrid(fusion, prefetch_depth(limit, prefetch))
        request = _query(dense, sparse, limit, mode, _search_filter(access, filters), hybrid)
        with self._lock:
            shard = self._open_shard()
            found = shard.query(request) if shard is not None else []
        return [
            _passage(str(p.id), p.payload or {}, p.score, similarity(dense, p.vector))
            for p in found
        ]

    def count(self) -> int:
        from qdrant_edge import CountRequest

        with self._lock:
            shard = self._open_shard()
            return 0 if shard is None else int(shard.count(CountRequest(exact=True)))

    def close(self) -> None:
        with self._lock:
            shard, self._shard = self._shard, None
            try:
                if shard is not None:
                    shard.flush()
                    shard.close()
            finally:
                if self._lock_fd is not None:
                    os.close(self._lock_fd)  # releases the flock
                    self._lock_fd = None

    def _open_shard(self) -> EdgeShard | None:
        """The shard, loaded on first use; None while no collection was created."""
        if self._lock_fd is None:
            raise RuntimeError(f"the vector store {self.collection!r} is closed")
        if self._shard is None and _has_shard(self._dir):
            self._shard = _load(self._dir, self.collection)
        return self._shard

    def _require_shard(self) -> EdgeShard:
        shard = self._open_shard()
        if shard is None:
            raise RuntimeError("call ensure_collection() before writing to the vector store")
        return shard


def _require_package() -> None:
    try:
        import qdrant_edge  # noqa: F401
    except ImportError as exc:
        raise ImportError(
            "the embedded Qdrant Edge store needs qdrant-edge-py: pip install qdrant-edge-py==0.9.0"
        ) from exc


def _lock_exclusively(path: Path) -> int:
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise StoreLocked(
            f"the embedded vector store at {path.parent} is open in another process"
        ) from None
    return fd


def _has_shard(directory: Path) -> bool:
    return directory.is_dir() and any(directory.iterdir())


def _open_or_create(directory: Path, dimension: int, collection: str) -> EdgeShard:
    from qdrant_edge import EdgeShard

    shard = (
        _load(directory, collection, dimension)
        if _has_shard(directory)
        else EdgeShard.create(str(directory), _config(dimension))
    )
    _ensure_indexes(shard)
    return shard


def _ensure_indexes(shard: EdgeShard) -> None:
    """Payload indexes for the filtered fields (a shard from an older docent lacks some)."""
    from qdrant_edge import DatetimeIndexParams, UpdateOperation

    present = set(shard.info().payload_schema)
    for name in KEYWORD_FIELDS:
        if name not in present:
            shard.update(UpdateOperation.create_field_index(name, _keyword_index()))
    for name in DATETIME_FIELDS:
        if name not in present:
            index = DatetimeIndexParams(enable_hnsw=False)
            shard.update(UpdateOperation.create_field_index(name, index))


def _load(directory: Path, collection: str, dimension: int | None = None) -> EdgeShard:
    """Open an existing shard; given a dimension, qdrant-edge checks the stored config."""
    from qdrant_edge import EdgeShard

    try:
        return EdgeShard.load(str(directory), _config(dimension) if dimension else None)
    except Exception as exc:  # qdrant-edge raises plain Exception
        message = str(exc)
        if "WouldBlock" in message:
            raise StoreLocked(f"the vector store at {directory} is open elsewhere") from exc
        if "ncompatible" in message:
            found = _STORED_SIZE.search(message)
            stored = int(found.group(1)) if found else None
            raise StoreMismatch(_mismatch_message(collection, stored, dimension)) from exc
        raise


def _config(dimension: int) -> EdgeConfig:
    from qdrant_edge import (
        Distance,
        EdgeConfig,
        EdgeOptimizersConfig,
        EdgeSparseVectorParams,
        EdgeVectorParams,
        Modifier,
    )

    return EdgeConfig(
        vectors={DENSE: EdgeVectorParams(size=dimension, distance=Distance.Cosine)},
        sparse_vectors={SPARSE: EdgeSparseVectorParams(modifier=Modifier.Idf)},
        optimizers=EdgeOptimizersConfig(prevent_unoptimized=False),  # new points: searchable
    )


def _keyword_index() -> KeywordIndexParams:
    from qdrant_edge import KeywordIndexParams

    # Filter with the index, but build no per-value HNSW links: they multiply build time.
    return KeywordIndexParams(enable_hnsw=False)


def _mismatch_message(collection: str, stored: int | None, wanted: int | None) -> str:
    held = f"{stored}-dimensional vectors" if stored else "vectors of another configuration"
    return (
        f"collection {collection!r} holds {held}, but the embedding model makes "
        f"{wanted}-dimensional ones: ingest into a new collection (DOCENT_COLLECTION) "
        "or remove the old one"
    )


def _point(c: StoredChunk) -> Point:
    from qdrant_edge import Point
    from qdrant_edge import SparseVector as EdgeSparse

    vectors: dict[str, NamedVector] = {
        DENSE: c.dense,
        SPARSE: EdgeSparse(c.sparse.indices, c.sparse.values),
    }
    return Point(c.point_id, vectors, _payload(c))


def _equals(key: str, value: str) -> FieldCondition:
    from qdrant_edge import FieldCondition, MatchValue

    return FieldCondition(key, match=MatchValue(value))


def _access_filter(access: Access) -> Filter | None:
    """Public documents (no groups), plus those sharing a group with the asker."""
    from qdrant_edge import FieldCondition, Filter, IsEmptyCondition, MatchAny

    if access.everything:
        return None
    public = IsEmptyCondition("groups")
    if not access.groups:
        return Filter(must=[public])
    shared = FieldCondition("groups", match=MatchAny(sorted(access.groups)))
    return Filter(should=[public, shared])


@dataclass(frozen=True)
class _Hybrid:
    fusion: Fusion
    depth: int  # candidates per prefetch


def _search_filter(access: Access, filters: SearchFilters | None) -> Filter | None:
    """The access filter, and the asker's own filters on top (they can only narrow it)."""
    from qdrant_edge import Filter

    allowed = _access_filter(access)
    narrowing: list[Any] = _filter_conditions(filters) if filters is not None else []
    if not narrowing:
        return allowed
    return Filter(must=([allowed] if allowed is not None else []) + narrowing)


def _filter_conditions(filters: SearchFilters) -> list[FieldCondition | Filter]:
    from qdrant_edge import FieldCondition, Filter, MatchAny, RangeDateTime

    def any_of(key: str, values: tuple[str, ...]) -> FieldCondition:
        return FieldCondition(key, match=MatchAny(list(values)))

    def between(key: str, since: datetime | None, before: datetime | None) -> FieldCondition:
        moments = (None if m is None else m.isoformat() for m in (since, before))
        return FieldCondition(key, range=RangeDateTime(gte=next(moments), lt=next(moments)))

    conditions: list[FieldCondition | Filter] = []
    if filters.documents:
        ids_or_paths = [any_of("doc_id", filters.documents), any_of("source", filters.documents)]
        conditions.append(Filter(should=list(ids_or_paths)))
    if filters.file_types:
        conditions.append(any_of("file_type", filters.file_types))
    if filters.tags:
        conditions.append(any_of("tags", filters.tags))
    if filters.modified_since or filters.modified_before:
        conditions.append(between("modified", filters.modified_since, filters.modified_before))
    if filters.ingested_since or filters.ingested_before:
        conditions.append(between("ingested", filters.ingested_since, filters.ingested_before))
    return conditions


def _query(
    dense: list[float],
    sparse: SparseVector,
    limit: int,
    mode: SearchMode,
    allowed: Filter | None,
    hybrid: _Hybrid,
) -> QueryRequest:
    from qdrant_edge import Fusion, Prefetch, Query, QueryRequest
    from qdrant_edge import SparseVector as EdgeSparse

    dense_query = Query.Nearest(dense, using=DENSE)
    sparse_query = Query.Nearest(EdgeSparse(sparse.indices, sparse.values), using=SPARSE)
    if mode == "dense":
        return QueryRequest(
            limit, query=dense_query, filter=allowed, with_payload=True, with_vector=[DENSE]
        )
    if mode == "sparse":
        return QueryRequest(
            limit, query=sparse_query, filter=allowed, with_payload=True, with_vector=[DENSE]
        )
    prefetches = [
        Prefetch(hybrid.depth, query=dense_query, filter=allowed),
        Prefetch(hybrid.depth, query=sparse_query, filter=allowed),
    ]
    dbsf = check_fusion(hybrid.fusion) == "dbsf"
    fusion: Any = Fusion.Dbsf() if dbsf else Fusion.Rrf(k=RRF_K)  # stubs: not a Fusion
    return QueryRequest(
        limit,
        query=fusion,
        prefetches=prefetches,
        filter=allowed,
        with_payload=True,
        with_vector=[DENSE],
    )
