"""The `VectorStore` protocol and its Qdrant adapter (embedded local mode or a server).

One collection holds named dense ("dense") and sparse ("sparse", IDF modifier) vectors, so a
hybrid query is one request fused inside Qdrant.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal, Protocol

from ingest.access import PUBLIC, Access
from ingest.types import (
    Passage,
    SearchFilters,
    SparseVector,
    StoredChunk,
    passage_from_record,
    regions_record,
)

DENSE = "dense"
SPARSE = "sparse"
SearchMode = Literal["dense", "sparse", "hybrid"]
Fusion = Literal["rrf", "dbsf"]  # reciprocal rank / distribution-based score fusion
FUSIONS: tuple[Fusion, ...] = ("rrf", "dbsf")
DEFAULT_FUSION: Fusion = "dbsf"  # SciFact nDCG@10: see README "Measured"
DEFAULT_PREFETCH = 100  # candidates each half of a hybrid query fetches (at least the limit)
KEYWORD_FIELDS = ("doc_id", "version", "groups", "source", "file_type", "tags")  # filtered on
DATETIME_FIELDS = ("modified", "ingested")


class VectorStore(Protocol):
    def ensure_collection(self, dimension: int) -> None: ...

    def upsert(self, chunks: Sequence[StoredChunk]) -> None: ...

    def delete_document(self, doc_id: str, keep_version: str | None = None) -> None: ...

    def update_document(self, doc_id: str, fields: dict[str, Any]) -> None: ...

    def document_chunks(self, doc_id: str, version: str) -> list[Passage]: ...

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
    ) -> list[Passage]: ...

    def count(self) -> int: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class ServerLayout:
    """How a Qdrant server lays out a collection docent creates (None: the server's default).

    shards: pieces the points are split into (spread over a cluster's nodes); replication:
    copies of each shard; write_consistency: copies that must confirm a write.
    """

    shards: int | None = None
    replication: int | None = None
    write_consistency: int | None = None

    def collection_args(self) -> dict[str, int]:
        """`create_collection` keyword arguments for the values that are set."""
        args = {
            "shard_number": self.shards,
            "replication_factor": self.replication,
            "write_consistency_factor": self.write_consistency,
        }
        return {name: value for name, value in args.items() if value is not None}


class QdrantStore:
    """Qdrant through qdrant-client; `path` for the embedded store, `url` for a server (where
    `layout` applies to the collection when docent creates it; local mode has no shards)."""

    def __init__(
        self,
        collection: str,
        *,
        path: Path | None = None,
        url: str | None = None,
        api_key: str | None = None,
        layout: ServerLayout | None = None,
    ) -> None:
        from qdrant_client import QdrantClient

        self._client: Any
        if url:
            self._client = QdrantClient(url=url, api_key=api_key)
        elif path is not None:
            path.mkdir(parents=True, exist_ok=True)
            self._client = _OneCallAtATime(_open_local(path))
        else:
            self._client = _OneCallAtATime(QdrantClient(location=":memory:"))
        self.collection = collection
        self._is_server = bool(url)
        self._layout = (layout or ServerLayout()) if url else ServerLayout()

    def ensure_collection(self, dimension: int) -> None:
        from qdrant_client import models

        if self._client.collection_exists(self.collection):
            self._check_dimension(dimension)
            return
        self._client.create_collection(
            self.collection,
            vectors_config={
                DENSE: models.VectorParams(size=dimension, distance=models.Distance.COSINE)
            },
            sparse_vectors_config={SPARSE: models.SparseVectorParams(modifier=models.Modifier.IDF)},
            **self._layout.collection_args(),
        )
        if self._is_server:  # local mode has no payload indexes (it scans)
            for name in KEYWORD_FIELDS:
                self._client.create_payload_index(
                    self.collection, name, models.PayloadSchemaType.KEYWORD
                )
            for name in DATETIME_FIELDS:
                self._client.create_payload_index(
                    self.collection, name, models.PayloadSchemaType.DATETIME
                )

    def _check_dimension(self, dimension: int) -> None:
        vectors = self._client.get_collection(self.collection).config.params.vectors
        size = vectors[DENSE].size if isinstance(vectors, dict) and DENSE in vectors else None
        if size != dimension:
            raise StoreMismatch(
                f"collection {self.collection!r} holds {size}-dimensional vectors, but the "
                f"embedding model makes {dimension}-dimensional ones: ingest into a new "
                "collection (DOCENT_COLLECTION) or remove the old one"
            )

    def upsert(self, chunks: Sequence[StoredChunk]) -> None:
        from qdrant_client import models

        points = [
            models.PointStruct(
                id=c.point_id,
                vector={
                    DENSE: c.dense,
                    SPARSE: models.SparseVector(indices=c.sparse.indices, values=c.sparse.values),
                },
                payload=_payload(c),
            )
            for c in chunks
        ]
        if points:
            self._client.upsert(self.collection, points=points, wait=True)

    def delete_document(self, doc_id: str, keep_version: str | None = None) -> None:
        from qdrant_client import models

        selector = _document_filter(doc_id)
        if keep_version is not None:
            selector.must_not = [
                models.FieldCondition(key="version", match=models.MatchValue(value=keep_version))
            ]
        self._client.delete(self.collection, points_selector=selector, wait=True)

    def update_document(self, doc_id: str, fields: dict[str, Any]) -> None:
        """Change payload fields (source, title, groups) of every point of a document."""
        self._client.set_payload(
            self.collection, payload=fields, points=_document_filter(doc_id), wait=True
        )

    def document_chunks(self, doc_id: str, version: str) -> list[Passage]:
        """One version of a document's chunks, in document order."""
        from qdrant_client import models

        selector = _document_filter(doc_id)
        selector.must.append(
            models.FieldCondition(key="version", match=models.MatchValue(value=version))
        )
        passages: list[Passage] = []
        offset = None
        while True:
            points, offset = self._client.scroll(
                self.collection, scroll_filter=selector, limit=256, offset=offset
            )
            passages += [_passage(str(p.id), p.payload or {}, 0.0) for p in points]
            if offset is None:
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
        from qdrant_client import models

        sparse_query = models.SparseVector(indices=sparse.indices, values=sparse.values)
        allowed = _search_filter(access, filters)
        if mode == "dense":
            response = self._client.query_points(
                self.collection,
                query=dense,
                using=DENSE,
                limit=limit,
                query_filter=allowed,
                with_payload=True,
                with_vectors=[DENSE],
            )
        elif mode == "sparse":
            response = self._client.query_points(
                self.collection,
                query=sparse_query,
                using=SPARSE,
                limit=limit,
                query_filter=allowed,
                with_payload=True,
                with_vectors=[DENSE],
            )
        else:
            depth = prefetch_depth(limit, prefetch)
            response = self._client.query_points(
                self.collection,
                prefetch=[
                    models.Prefetch(query=dense, using=DENSE, limit=depth, filter=allowed),
                    models.Prefetch(query=sparse_query, using=SPARSE, limit=depth, filter=allowed),
                ],
                query=_fusion_query(fusion),
                limit=limit,
                query_filter=allowed,
                with_payload=True,
                with_vectors=[DENSE],
            )
        return [
            _passage(str(p.id), p.payload or {}, p.score, similarity(dense, p.vector))
            for p in response.points
        ]

    def count(self) -> int:
        if not self._client.collection_exists(self.collection):
            return 0
        return int(self._client.count(self.collection, exact=True).count)

    def close(self) -> None:
        self._client.close()


def prefetch_depth(limit: int, prefetch: int | None = None) -> int:
    """Candidates per half of a hybrid query: `prefetch` (default DEFAULT_PREFETCH), at least
    `limit`. DBSF normalises each half's scores over these candidates, so the depth matters."""
    return max(limit, DEFAULT_PREFETCH if prefetch is None else prefetch)


def check_fusion(fusion: str) -> Fusion:
    for known in FUSIONS:
        if fusion == known:
            return known
    raise ValueError(f"unknown fusion {fusion!r}: choose from {', '.join(FUSIONS)}")


class StoreMismatch(RuntimeError):
    """The collection was built for another embedding model."""


class StoreLocked(RuntimeError):
    """Another process (usually the running web app) has the embedded store open."""


def _open_local(path: Path) -> Any:
    from qdrant_client import QdrantClient

    try:
        return QdrantClient(path=str(path))
    except RuntimeError as exc:
        if "already accessed" in str(exc):
            raise StoreLocked(
                f"the embedded vector store at {path} is open in another process"
            ) from exc
        raise


class _OneCallAtATime:
    """Qdrant's local mode is not thread-safe; the web app searches while it ingests."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self._lock = threading.RLock()

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._client, name)
        if not callable(attribute):
            return attribute

        def call(*args: Any, **kwargs: Any) -> Any:
            with self._lock:
                return attribute(*args, **kwargs)

        return call


def _fusion_query(fusion: Fusion) -> Any:
    from qdrant_client import models

    chosen = models.Fusion.DBSF if check_fusion(fusion) == "dbsf" else models.Fusion.RRF
    return models.FusionQuery(fusion=chosen)


def _access_filter(access: Access) -> Any:
    """Public documents (no groups), plus those sharing a group with the asker."""
    from qdrant_client import models

    if access.everything:
        return None
    public = models.IsEmptyCondition(is_empty=models.PayloadField(key="groups"))
    if not access.groups:
        return models.Filter(must=[public])
    shared = models.FieldCondition(key="groups", match=models.MatchAny(any=sorted(access.groups)))
    return models.Filter(should=[public, shared])


def _search_filter(access: Access, filters: SearchFilters | None) -> Any:
    """The access filter, and the asker's own filters on top (they can only narrow it)."""
    from qdrant_client import models

    allowed = _access_filter(access)
    narrowing = _filter_conditions(filters) if filters is not None else []
    if not narrowing:
        return allowed
    return models.Filter(must=([allowed] if allowed is not None else []) + narrowing)


def _filter_conditions(filters: SearchFilters) -> list[Any]:
    from qdrant_client import models

    def any_of(key: str, values: tuple[str, ...]) -> Any:
        return models.FieldCondition(key=key, match=models.MatchAny(any=list(values)))

    def between(key: str, since: datetime | None, before: datetime | None) -> Any:
        return models.FieldCondition(key=key, range=models.DatetimeRange(gte=since, lt=before))

    conditions: list[Any] = []
    if filters.documents:
        ids_or_paths = [any_of("doc_id", filters.documents), any_of("source", filters.documents)]
        conditions.append(models.Filter(should=ids_or_paths))
    if filters.file_types:
        conditions.append(any_of("file_type", filters.file_types))
    if filters.tags:
        conditions.append(any_of("tags", filters.tags))
    if filters.modified_since or filters.modified_before:
        conditions.append(between("modified", filters.modified_since, filters.modified_before))
    if filters.ingested_since or filters.ingested_before:
        conditions.append(between("ingested", filters.ingested_since, filters.ingested_before))
    return conditions


def _document_filter(doc_id: str) -> Any:
    from qdrant_client import models

    return models.Filter(
        must=[models.FieldCondition(key="doc_id", match=models.MatchValue(value=doc_id))]
    )


def _payload(c: StoredChunk) -> dict[str, Any]:
    chunk = c.chunk
    return {
        "doc_id": c.doc_id,
        "version": c.version,
        "chunk_index": chunk.index,
        "text": chunk.text,
        "title": c.title,
        "source": c.source,
        "headings": list(chunk.headings),
        "kinds": list(chunk.kinds),
        "page_start": chunk.page_start,
        "page_end": chunk.page_end,
        "start": chunk.start,
        "end": chunk.end,
        "groups": list(c.groups),
        "file_type": file_type(c.source),
        "tags": list(c.tags),
        "modified": _timestamp(c.modified),
        "ingested": _timestamp(c.ingested),
        "regions": regions_record(chunk.regions),
    }


def file_type(source: str) -> str:
    """What a type filter matches: the file's suffix, lower case, without the dot."""
    return Path(source).suffix.lower().lstrip(".")


def _timestamp(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def similarity(query: Sequence[float], vector: object) -> float | None:
    """Cosine similarity of the dense query and a point's stored dense vector (both unit
    length), or None when the point came back without it."""
    dense = vector.get(DENSE) if isinstance(vector, dict) else None
    if not isinstance(dense, list) or len(dense) != len(query):
        return None
    return float(sum(a * b for a, b in zip(query, dense, strict=True)))


def _passage(
    point_id: str, payload: dict[str, Any], score: float, similarity: float | None = None
) -> Passage:
    found = {"point_id": point_id, "score": score, "similarity": similarity}
    return passage_from_record(payload | found)
