"""The document catalog in the app database (SQLite by default, PostgreSQL when configured),
so that every app process and ingestion worker, on any machine, reads and commits the same
rows. It implements `ingest.catalog.DocumentCatalog` with the same write semantics as the
library's SQLite catalog (the commit point of ingestion is one statement here too).

Sources are kept so that moving things does not make documents new:
- a file under DATA_DIR (uploads) is stored relative to it (`$DATA_DIR/uploads/x.pdf`) and
  read back under the DATA_DIR of the process reading it, so DATA_DIR can move (or be mounted
  at another path on another machine) and its documents are still found, by path;
- a file elsewhere keeps its absolute path; a source tree moved or copied to another place is
  recognised by content hash (the pipeline's "moved": nothing is parsed or embedded again).

`import_sqlite` reads the catalog an older docent kept in DATA_DIR/docent.sqlite3 once (its
rows, as they are) and renames the file, so upgrading re-ingests nothing.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    Engine,
    Index,
    Integer,
    RowMapping,
    String,
    Table,
    Text,
    case,
    delete,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite

from app.accounts.db import create_all, metadata
from ingest.catalog import Catalog, DocumentRecord, OkRecord

log = logging.getLogger(__name__)
DATA_DIR = "$DATA_DIR"  # the stored prefix of a source under the data folder
IMPORTED = ".imported"  # the suffix an imported SQLite catalog is renamed with
IMPORT_LOCK = 0x646F63656E75  # pg_advisory_xact_lock key: one process imports at a time

documents = Table(
    "documents",
    metadata,
    Column("doc_id", String(64), primary_key=True),
    Column("source", Text, nullable=False),  # as stored: `$DATA_DIR/...` or absolute
    Column("source_key", String(64), nullable=False, unique=True),  # sha256 of `source`
    Column("title", Text, nullable=False, default=""),
    Column("content_hash", String(128), nullable=False, default=""),
    Column("version", String(64), nullable=False, default=""),
    Column("pipeline", Text, nullable=False, default=""),
    Column("chunk_count", Integer, nullable=False, default=0),
    Column("pages", Integer, nullable=True),
    Column("groups", Text, nullable=False, default="[]"),
    Column("tags", Text, nullable=False, default="[]"),
    Column("notes", Text, nullable=False, default="[]"),
    Column("status", String(16), nullable=False),
    Column("error", Text, nullable=True),
    Column("cleanup_pending", Boolean, nullable=False, default=False),
    Column("created_at", String(40), nullable=False),  # ISO 8601, UTC, as the library's
    Column("updated_at", String(40), nullable=False),
)
Index("documents_hash", documents.c.content_hash)


class DatabaseCatalog:
    """The catalog's rows in the app database; `data_dir` is this process's DATA_DIR."""

    def __init__(self, engine: Engine, data_dir: Path) -> None:
        self.engine = engine
        self._data = str(data_dir.resolve())
        create_all(engine)

    # --- reading ------------------------------------------------------------------------
    def get(self, doc_id: str) -> DocumentRecord | None:
        return self._one(documents.c.doc_id == doc_id)

    def get_by_source(self, source: str) -> DocumentRecord | None:
        return self._one(documents.c.source_key == _key(self._stored(source)))

    def with_hash(self, content_hash: str) -> list[DocumentRecord]:
        return self._many(documents.c.content_hash == content_hash)

    def all(self) -> list[DocumentRecord]:
        return sorted(self._many(None), key=lambda record: record.source)

    def live_versions(self, doc_ids: Iterable[str]) -> dict[str, str]:
        """The version search may show for each document (documents not ok are absent)."""
        ids = sorted(set(doc_ids))
        if not ids:
            return {}
        query = select(documents.c.doc_id, documents.c.version).where(
            documents.c.doc_id.in_(ids), documents.c.version != ""
        )
        with self.engine.connect() as conn:
            return {row.doc_id: row.version for row in conn.execute(query)}

    def searchable_groups(self, doc_ids: Iterable[str]) -> dict[str, tuple[str, ...]]:
        """The groups of each document search may show now."""
        ids = sorted(set(doc_ids))
        if not ids:
            return {}
        query = select(documents.c.doc_id, documents.c.groups).where(
            documents.c.doc_id.in_(ids), documents.c.version != ""
        )
        with self.engine.connect() as conn:
            return {row.doc_id: _strings(row.groups) for row in conn.execute(query)}

    # --- writing ------------------------------------------------------------------------
    def record_pending(self, doc_id: str, source: str, content_hash: str) -> None:
        """Before a new document's points are written, so a crash leaves a trace to clean."""
        now = _now()
        values = self._source(source) | {
            "doc_id": doc_id,
            "content_hash": content_hash,
            "status": "pending",
            "cleanup_pending": True,
            "created_at": now,
            "updated_at": now,
        }
        self._upsert(values, lambda new: {"cleanup_pending": True, "updated_at": new.updated_at})

    def record_ok(self, record: OkRecord) -> None:
        """The commit point: search switches to `record.version` now."""
        now = _now()
        values = self._written(record) | {
            "status": "ok",
            "error": None,
            "cleanup_pending": True,
            "created_at": now,
            "updated_at": now,
        }
        kept = {"doc_id", "created_at"}
        self._upsert(values, lambda new: {k: new[k] for k in values if k not in kept})

    def mark_cleaned(self, doc_id: str) -> None:
        self._update(doc_id, cleanup_pending=False)

    def record_failed(self, doc_id: str, source: str, error: str, status: str = "failed") -> None:
        """A failed (or skipped) attempt; a document that was ok keeps its last good version."""
        now = _now()
        values = self._source(source) | {
            "doc_id": doc_id,
            "status": status,
            "error": error,
            "created_at": now,
            "updated_at": now,
        }

        def changes(new: Any) -> dict[str, Any]:
            kept_ok = case((documents.c.status == "ok", "ok"), else_=new.status)
            return {"error": new.error, "status": kept_ok, "updated_at": new.updated_at}

        self._upsert(values, changes)

    def move(self, doc_id: str, source: str) -> None:
        self._update(doc_id, **self._source(source), updated_at=_now())

    def forget_all(self) -> int:
        """Drop every row (the store they describe is gone); returns how many there were."""
        with self.engine.begin() as conn:
            return int(conn.execute(delete(documents)).rowcount or 0)

    def remove(self, doc_id: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(documents).where(documents.c.doc_id == doc_id))

    def close(self) -> None:
        """The engine belongs to the app database's owner: nothing to close here."""

    # --- the catalog an older docent kept ------------------------------------------------
    def import_sqlite(self, path: Path) -> int:
        """Copy the rows of the SQLite catalog at `path` that this one lacks (once: the file
        is renamed `*.imported` after); returns how many were copied."""
        if not path.is_file():
            return 0
        with _locked(path.with_name(path.name + ".lock")):  # workers of one machine starting
            if not path.is_file():  # another process of this machine imported it just now
                return 0
            return self._import(path)

    def _import(self, path: Path) -> int:
        old = Catalog(path)
        try:
            records = old.all()
        finally:
            old.close()
        with self.engine.begin() as conn:
            if conn.dialect.name == "postgresql":  # app processes starting together
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": IMPORT_LOCK})
            have = {row.doc_id for row in conn.execute(select(documents.c.doc_id))}
            rows = [self._imported(r) for r in records if r.doc_id not in have]
            if rows:
                conn.execute(documents.insert(), rows)
        path.rename(path.with_name(path.name + IMPORTED))
        log.warning("imported %d documents from the catalog %s", len(rows), path)
        return len(rows)

    # --- plumbing -----------------------------------------------------------------------
    def _stored(self, source: str) -> str:
        """`source` as stored: under DATA_DIR, relative to it."""
        if source == self._data or source.startswith(self._data + "/"):
            return DATA_DIR + source[len(self._data) :]
        return source

    def _shown(self, stored: str) -> str:
        """A stored source as a path on this machine."""
        if stored == DATA_DIR or stored.startswith(DATA_DIR + "/"):
            return self._data + stored[len(DATA_DIR) :]
        return stored

    def _source(self, source: str) -> dict[str, str]:
        stored = self._stored(source)
        return {"source": stored, "source_key": _key(stored)}

    def _written(self, record: OkRecord | DocumentRecord) -> dict[str, Any]:
        """The columns of a document as ingestion wrote it (a new one, or one imported)."""
        return self._source(record.source) | {
            "doc_id": record.doc_id,
            "title": record.title,
            "content_hash": record.content_hash,
            "version": record.version,
            "pipeline": record.pipeline,
            "chunk_count": record.chunk_count,
            "pages": record.pages,
            "groups": json.dumps(list(record.groups)),
            "tags": json.dumps(list(record.tags)),
            "notes": json.dumps(list(record.notes)),
        }

    def _imported(self, record: DocumentRecord) -> dict[str, Any]:
        return self._written(record) | {
            "status": record.status,
            "error": record.error,
            "cleanup_pending": record.cleanup_pending,
            "created_at": record.created_at,
            "updated_at": record.updated_at,
        }

    def _upsert(self, values: dict[str, Any], changes: Any) -> None:
        """Insert `values`, or on the same doc_id set `changes(excluded)` (one statement)."""
        with self.engine.begin() as conn:
            dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
            statement = dialect.insert(documents).values(**values)
            statement = statement.on_conflict_do_update(
                index_elements=[documents.c.doc_id], set_=changes(statement.excluded)
            )
            conn.execute(statement)

    def _update(self, doc_id: str, **values: Any) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(documents).where(documents.c.doc_id == doc_id).values(**values))

    def _one(self, where: Any) -> DocumentRecord | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(documents).where(where)).mappings().first()
        return None if row is None else self._record(row)

    def _many(self, where: Any) -> list[DocumentRecord]:
        query = select(documents) if where is None else select(documents).where(where)
        with self.engine.connect() as conn:
            return [self._record(row) for row in conn.execute(query).mappings()]

    def _record(self, row: RowMapping) -> DocumentRecord:
        return DocumentRecord(
            doc_id=row["doc_id"],
            source=self._shown(row["source"]),
            title=row["title"],
            content_hash=row["content_hash"],
            version=row["version"],
            pipeline=row["pipeline"],
            chunk_count=row["chunk_count"],
            pages=row["pages"],
            groups=_strings(row["groups"]),
            status=row["status"],
            error=row["error"],
            cleanup_pending=bool(row["cleanup_pending"]),
            created_at=row["created_at"],
            updated_at=row["updated_at"],
            tags=_strings(row["tags"]),
            notes=_strings(row["notes"]),
        )


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """An exclusive lock on `path` (created if missing) while the block runs."""
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _key(stored: str) -> str:
    return hashlib.sha256(stored.encode("utf-8", "surrogatepass")).hexdigest()


def _strings(value: str | None) -> tuple[str, ...]:
    return tuple(str(item) for item in json.loads(value or "[]"))


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
