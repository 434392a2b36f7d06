"""The document catalog: one SQLite row per source file (hash, pipeline, status, counts)."""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

_SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (
    doc_id TEXT PRIMARY KEY,
    source TEXT NOT NULL UNIQUE,
    title TEXT NOT NULL DEFAULT '',
    content_hash TEXT NOT NULL DEFAULT '',
    pipeline TEXT NOT NULL DEFAULT '',
    chunk_count INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL,
    error TEXT,
    updated_at TEXT NOT NULL
)
"""


@dataclass(frozen=True)
class DocumentRecord:
    doc_id: str
    source: str
    title: str
    content_hash: str
    pipeline: str
    chunk_count: int
    status: str  # "ok" or "failed"
    error: str | None
    updated_at: str


class Catalog:
    """A small SQLite table; safe to share between threads of one process."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(_SCHEMA)

    def get(self, doc_id: str) -> DocumentRecord | None:
        with self._lock:
            row = self._db.execute("SELECT * FROM documents WHERE doc_id = ?", (doc_id,)).fetchone()
        return DocumentRecord(*row) if row else None

    def all(self) -> list[DocumentRecord]:
        with self._lock:
            rows = self._db.execute("SELECT * FROM documents ORDER BY source").fetchall()
        return [DocumentRecord(*row) for row in rows]

    def record_ok(
        self, doc_id: str, source: str, title: str, content_hash: str, pipeline: str, chunks: int
    ) -> None:
        self._write(
            DocumentRecord(
                doc_id, source, title, content_hash, pipeline, chunks, "ok", None, _now()
            )
        )

    def record_failed(self, doc_id: str, source: str, error: str) -> None:
        previous = self.get(doc_id)
        if previous and previous.status == "ok":
            # keep the last good version searchable; note the failure beside it
            self._write(replace(previous, error=error, updated_at=_now()))
            return
        self._write(DocumentRecord(doc_id, source, "", "", "", 0, "failed", error, _now()))

    def _write(self, record: DocumentRecord) -> None:
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO documents VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    record.doc_id,
                    record.source,
                    record.title,
                    record.content_hash,
                    record.pipeline,
                    record.chunk_count,
                    record.status,
                    record.error,
                    record.updated_at,
                ),
            )

    def close(self) -> None:
        with self._lock:
            self._db.close()


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
