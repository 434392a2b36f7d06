"""The document catalog: one row per source file, and the commit point of ingestion.

A document's chunks are written to the vector store under a new version first; `record_ok`
then switches the row to that version in one transaction. Search shows only passages whose
version is the row's `version`, so a crash at any moment leaves a document either as it was or
as it is now, never half of each.

`DocumentCatalog` is what the pipeline needs of a catalog; `Catalog` is the library's own, a
SQLite file. An application may keep the rows elsewhere (docent keeps them in its app database,
`app.documents.catalog`) by implementing the protocol.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

_SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (
    doc_id TEXT PRIMARY KEY,
    source TEXT NOT NULL UNIQUE,
    title TEXT NOT NULL DEFAULT '',
    content_hash TEXT NOT NULL DEFAULT '',
    version TEXT NOT NULL DEFAULT '',
    pipeline TEXT NOT NULL DEFAULT '',
    chunk_count INTEGER NOT NULL DEFAULT 0,
    pages INTEGER,
    groups TEXT NOT NULL DEFAULT '[]',
    status TEXT NOT NULL,
    error TEXT,
    cleanup_pending INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS documents_hash ON documents (content_hash);
"""
_ADDED_COLUMNS = {  # added after the first release
    "tags": "TEXT NOT NULL DEFAULT '[]'",
    "notes": "TEXT NOT NULL DEFAULT '[]'",
}
_COLUMNS = (
    "doc_id, source, title, content_hash, version, pipeline, chunk_count, pages, groups, "
    "status, error, cleanup_pending, created_at, updated_at, tags, notes"
)


@dataclass(frozen=True)
class DocumentRecord:
    doc_id: str
    source: str
    title: str
    content_hash: str
    version: str  # the chunk version search shows; '' = none yet
    pipeline: str
    chunk_count: int
    pages: int | None
    groups: tuple[str, ...]
    status: str  # ok | failed | skipped | pending
    error: str | None  # for ok: the last attempt failed, the previous version stays
    cleanup_pending: bool  # older versions' points may still be in the store
    created_at: str
    updated_at: str
    tags: tuple[str, ...] = ()  # labels for search filters (`docent ingest --tag`)
    notes: tuple[str, ...] = ()  # how it was read (a scanned page OCR found no text on)

    @property
    def status_text(self) -> str:
        if self.error and self.status == "ok":
            return f"ok (last update failed: {self.error})"
        if self.notes and self.status == "ok":
            return f"ok ({'; '.join(self.notes)})"
        return f"{self.status}: {self.error}" if self.error else self.status


@dataclass(frozen=True)
class OkRecord:
    """What `record_ok` stores for a document that was just written."""

    doc_id: str
    source: str
    title: str
    content_hash: str
    version: str
    pipeline: str
    chunk_count: int
    pages: int | None
    groups: tuple[str, ...]
    tags: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()


class DocumentCatalog(Protocol):
    """The catalog's operations, as the pipeline and its callers use them."""

    def get(self, doc_id: str) -> DocumentRecord | None: ...
    def get_by_source(self, source: str) -> DocumentRecord | None: ...
    def with_hash(self, content_hash: str) -> list[DocumentRecord]: ...
    def all(self) -> list[DocumentRecord]: ...
    def live_versions(self, doc_ids: Iterable[str]) -> dict[str, str]: ...
    def searchable_groups(self, doc_ids: Iterable[str]) -> dict[str, tuple[str, ...]]: ...
    def record_pending(self, doc_id: str, source: str, content_hash: str) -> None: ...
    def record_ok(self, record: OkRecord) -> None: ...
    def mark_cleaned(self, doc_id: str) -> None: ...
    def record_failed(
        self, doc_id: str, source: str, error: str, status: str = "failed"
    ) -> None: ...
    def move(self, doc_id: str, source: str) -> None: ...
    def forget_all(self) -> int: ...
    def remove(self, doc_id: str) -> None: ...
    def close(self) -> None: ...


class Catalog:
    """A small SQLite database; safe to share between the threads of one process."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA busy_timeout=10000")
        self._db.executescript(_SCHEMA)
        self._add_missing_columns()

    # --- reading ------------------------------------------------------------------------
    def get(self, doc_id: str) -> DocumentRecord | None:
        return self._one("SELECT {} FROM documents WHERE doc_id = ?", (doc_id,))

    def get_by_source(self, source: str) -> DocumentRecord | None:
        return self._one("SELECT {} FROM documents WHERE source = ?", (source,))

    def with_hash(self, content_hash: str) -> list[DocumentRecord]:
        return self._many("SELECT {} FROM documents WHERE content_hash = ?", (content_hash,))

    def all(self) -> list[DocumentRecord]:
        return self._many("SELECT {} FROM documents ORDER BY source", ())

    def live_versions(self, doc_ids: Iterable[str]) -> dict[str, str]:
        """The version search may show for each document (documents not ok are absent)."""
        ids = sorted(set(doc_ids))
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        query = f"SELECT doc_id, version FROM documents WHERE doc_id IN ({marks}) AND version != ''"
        with self._lock:
            return dict(self._db.execute(query, ids).fetchall())

    def searchable_groups(self, doc_ids: Iterable[str]) -> dict[str, tuple[str, ...]]:
        """The groups of each document search may show now (deleted documents, and those
        never ingested, are absent): who may still read a passage stored earlier."""
        ids = sorted(set(doc_ids))
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        query = f"SELECT doc_id, groups FROM documents WHERE doc_id IN ({marks}) AND version != ''"
        with self._lock:
            rows = self._db.execute(query, ids).fetchall()
        return {doc_id: tuple(json.loads(groups or "[]")) for doc_id, groups in rows}

    # --- writing ------------------------------------------------------------------------
    def record_pending(self, doc_id: str, source: str, content_hash: str) -> None:
        """Before a new document's points are written, so a crash leaves a trace to clean."""
        now = _now()
        self._execute(
            "INSERT INTO documents (doc_id, source, content_hash, status, cleanup_pending,"
            " created_at, updated_at) VALUES (?, ?, ?, 'pending', 1, ?, ?)"
            " ON CONFLICT(doc_id) DO UPDATE SET cleanup_pending = 1,"
            " updated_at = excluded.updated_at",
            (doc_id, source, content_hash, now, now),
        )

    def record_ok(self, record: OkRecord) -> None:
        """The commit point: search switches to `record.version` now."""
        now = _now()
        self._execute(
            "INSERT INTO documents (doc_id, source, title, content_hash, version, pipeline,"
            " chunk_count, pages, groups, tags, notes, status, error, cleanup_pending,"
            " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'ok', NULL, 1, ?, ?)"
            " ON CONFLICT(doc_id) DO UPDATE SET source = excluded.source, title = excluded.title,"
            " content_hash = excluded.content_hash, version = excluded.version,"
            " pipeline = excluded.pipeline, chunk_count = excluded.chunk_count,"
            " pages = excluded.pages, groups = excluded.groups, tags = excluded.tags,"
            " notes = excluded.notes,"
            " status = 'ok', error = NULL, cleanup_pending = 1, updated_at = excluded.updated_at",
            (
                record.doc_id,
                record.source,
                record.title,
                record.content_hash,
                record.version,
                record.pipeline,
                record.chunk_count,
                record.pages,
                json.dumps(list(record.groups)),
                json.dumps(list(record.tags)),
                json.dumps(list(record.notes)),
                now,
                now,
            ),
        )

    def mark_cleaned(self, doc_id: str) -> None:
        self._execute("UPDATE documents SET cleanup_pending = 0 WHERE doc_id = ?", (doc_id,))

    def record_failed(self, doc_id: str, source: str, error: str, status: str = "failed") -> None:
        """A failed (or skipped) attempt; a document that was ok keeps its last good version."""
        now = _now()
        self._execute(
            "INSERT INTO documents (doc_id, source, status, error, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?)"
            " ON CONFLICT(doc_id) DO UPDATE SET error = excluded.error,"
            " status = CASE WHEN documents.status = 'ok' THEN 'ok' ELSE excluded.status END,"
            " updated_at = excluded.updated_at",
            (doc_id, source, status, error, now, now),
        )

    def move(self, doc_id: str, source: str) -> None:
        self._execute(
            "UPDATE documents SET source = ?, updated_at = ? WHERE doc_id = ?",
            (source, _now(), doc_id),
        )

    def forget_all(self) -> int:
        """Drop every row (the store they describe is gone); returns how many there were."""
        with self._lock:
            return self._db.execute("DELETE FROM documents").rowcount

    def remove(self, doc_id: str) -> None:
        self._execute("DELETE FROM documents WHERE doc_id = ?", (doc_id,))

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # --- plumbing -----------------------------------------------------------------------
    def _add_missing_columns(self) -> None:
        """A catalog written by an older docent gets the newer columns, with their defaults."""
        present = {row[1] for row in self._db.execute("PRAGMA table_info(documents)")}
        for name, declaration in _ADDED_COLUMNS.items():
            if name not in present:
                self._db.execute(f"ALTER TABLE documents ADD COLUMN {name} {declaration}")

    def _execute(self, sql: str, params: tuple[Any, ...]) -> None:
        with self._lock:
            self._db.execute(sql, params)

    def _one(self, sql: str, params: tuple[Any, ...]) -> DocumentRecord | None:
        with self._lock:
            row = self._db.execute(sql.format(_COLUMNS), params).fetchone()
        return _record(row) if row else None

    def _many(self, sql: str, params: tuple[Any, ...]) -> list[DocumentRecord]:
        with self._lock:
            rows = self._db.execute(sql.format(_COLUMNS), params).fetchall()
        return [_record(row) for row in rows]


def _record(row: tuple[Any, ...]) -> DocumentRecord:
    values = list(row)
    values[8] = tuple(json.loads(values[8] or "[]"))
    values[11] = bool(values[11])
    values[14] = tuple(json.loads(values[14] or "[]"))
    values[15] = tuple(json.loads(values[15] or "[]"))
    return DocumentRecord(*values)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
