"""Ingestion jobs in the app database (SQLite by default, PostgreSQL when configured): every
upload and re-index is a row with its file, groups, tags, state and outcome, so the queue and
its progress survive restarts and read the same from every app process.

Workers claim queued rows for a while (a lease they renew while they work): on PostgreSQL the
oldest claimable rows are selected `FOR UPDATE SKIP LOCKED` and marked with the worker's claim
in one transaction (a subquery would not do: PostgreSQL may run it again for each row it
updates, each time skipping the rows it just locked); on SQLite one statement does both (one
writer at a time). Two workers never take the same file. A worker that dies stops renewing:
once its lease runs out, another worker takes the file over. A worker on this machine whose
process is gone is known at once (`dead_here`), so a restarted server does not wait for the
lease.

A batch (`docent ingest`, directly or through a running server) is one row per file sharing a
`batch` id, with the paths the run was given (`roots`: links named directly are followed, those
found in folders are not); a `sync` row of the batch is claimable only once its files are all
finished. A batch's rows carry the host it was started on: only that machine's workers take
them (the files named are on its disks), while uploads and re-indexes go to any worker.
"""

from __future__ import annotations

import json
import os
import socket
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import (
    Boolean,
    Column,
    Engine,
    Float,
    Index,
    Integer,
    RowMapping,
    String,
    Table,
    Text,
    and_,
    delete,
    exists,
    insert,
    or_,
    select,
    update,
)

from app.accounts.db import create_all, metadata

State = Literal["queued", "parsing", "embedding", "done", "failed"]
Kind = Literal["upload", "reindex", "ingest", "sync", "remove", "regroup"]
KINDS: frozenset[str] = frozenset({"upload", "reindex", "ingest", "sync", "remove", "regroup"})
ACTIVE: frozenset[State] = frozenset({"queued", "parsing", "embedding"})
RUNNING: frozenset[State] = frozenset({"parsing", "embedding"})

ingest_jobs = Table(
    "ingest_jobs",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("filename", String(500), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("state", String(16), nullable=False),
    Column("groups", Text, nullable=False),  # JSON list
    Column("tags", Text, nullable=False),  # JSON list
    Column("actor", String(200), nullable=False),
    Column("path", Text, nullable=True),
    Column("reason", Text, nullable=True),
    Column("outcome", String(32), nullable=True),
    Column("chunks", Integer, nullable=False, default=0),
    Column("pages", Integer, nullable=True),
    Column("created", Float, nullable=False),  # epoch seconds
    Column("current_labels", Boolean, nullable=False, default=False),
    Column("worker", String(200), nullable=True),  # host:pid:nonce of the claiming worker
    Column("claim", String(32), nullable=True),  # the claim it was taken with
    Column("lease_until", Float, nullable=True),  # epoch seconds
    # added for batches (`docent ingest`); nullable, so older databases gain them
    Column("batch", String(32), nullable=True),  # the batch this file belongs to
    Column("roots", Text, nullable=True),  # JSON list: the paths the batch was given
    Column("workers", Integer, nullable=True),  # parser processes asked for (None: the setting)
    Column("force", Boolean, nullable=True),  # parse and embed again even if unchanged
    Column("host", String(200), nullable=True),  # only this machine's workers take it
    Column("source", Text, nullable=True),  # the catalog source its result was about
    Column("notes", Text, nullable=True),  # JSON list: how it was read
)
Index("ingest_jobs_state", ingest_jobs.c.state, ingest_jobs.c.created)
Index("ingest_jobs_batch", ingest_jobs.c.batch)


@dataclass(frozen=True)
class UploadJob:
    id: str
    filename: str  # the name shown: the saved file's name (or the client's, cleaned, if refused)
    kind: Kind
    state: State
    groups: tuple[str, ...] = ()
    actor: str = ""
    path: Path | None = None
    reason: str | None = None  # why it failed, or a note on a finished one
    outcome: str | None = None  # the pipeline's status: new, updated, unchanged, moved...
    chunks: int = 0
    pages: int | None = None
    created: float = 0.0
    tags: tuple[str, ...] = ()  # a re-indexed document keeps its search labels
    current_labels: bool = False  # groups and tags read from the catalog when the job runs
    batch: str | None = None  # the batch of a `docent ingest` file
    roots: tuple[str, ...] = ()  # the paths that batch was given
    workers: int | None = None  # parser processes the batch asked for
    force: bool = False  # parse and embed again even when nothing changed
    host: str | None = None  # only this machine's workers take it (None: any)
    source: str | None = None  # the catalog source its result was about
    notes: tuple[str, ...] = ()  # how it was read (a scanned page OCR found no text on)

    @property
    def active(self) -> bool:
        return self.state in ACTIVE

    def as_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "filename": self.filename,
            "kind": self.kind,
            "state": self.state,
            "groups": list(self.groups),
            "reason": self.reason,
            "outcome": self.outcome,
            "chunks": self.chunks,
            "pages": self.pages,
        }


def worker_name() -> str:
    """This worker, unique across machines and restarts: host, process id, a nonce."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def dead_here(worker: str | None) -> bool:
    """A worker of this machine whose process is gone (its claims need no lease to run out)."""
    if not worker or worker.count(":") < 2:
        return False
    host, pid, _ = worker.rsplit(":", 2)
    if host != socket.gethostname() or not pid.isdigit():
        return False
    if int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, another user's
        return False
    return False


class JobTable:
    """The `ingest_jobs` rows, read and changed one statement at a time."""

    def __init__(
        self, engine: Engine, clock: Callable[[], float] = time.time, host: str | None = None
    ) -> None:
        self.engine, self.clock = engine, clock
        self.host = host or socket.gethostname()  # whose pinned rows this table's workers take
        create_all(engine)

    def add(self, job: UploadJob) -> None:
        self.add_many([job])

    def add_many(self, jobs: list[UploadJob]) -> None:
        """Several jobs in one transaction (a batch is seen whole or not at all)."""
        if jobs:
            with self.engine.begin() as conn:
                conn.execute(insert(ingest_jobs), [_row(job) for job in jobs])

    def update(self, job_id: str, **changes: Any) -> None:
        values = {k: _column_value(k, v) for k, v in changes.items()}
        if changes.get("state") not in (None, *ACTIVE):  # finished: nobody holds it now
            values |= {"worker": None, "claim": None, "lease_until": None}
        with self.engine.begin() as conn:
            conn.execute(update(ingest_jobs).where(ingest_jobs.c.id == job_id).values(**values))

    def get(self, job_id: str) -> UploadJob | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(ingest_jobs).where(ingest_jobs.c.id == job_id)).first()
        return None if row is None else _job(row._mapping)

    def newest(self, limit: int) -> list[UploadJob]:
        query = select(ingest_jobs).order_by(ingest_jobs.c.created.desc()).limit(limit)
        with self.engine.connect() as conn:
            return [_job(row) for row in conn.execute(query).mappings()]

    def batch(self, batch: str) -> list[UploadJob]:
        """A batch's rows, in the order they were added."""
        query = select(ingest_jobs).where(ingest_jobs.c.batch == batch)
        with self.engine.connect() as conn:
            rows = conn.execute(query.order_by(ingest_jobs.c.created, ingest_jobs.c.id))
            return [_job(row) for row in rows.mappings()]

    def active(self) -> list[UploadJob]:
        query = (
            select(ingest_jobs)
            .where(ingest_jobs.c.state.in_(ACTIVE))
            .order_by(ingest_jobs.c.created)
        )
        with self.engine.connect() as conn:
            return [_job(row) for row in conn.execute(query).mappings()]

    def any_active(self) -> bool:
        query = select(ingest_jobs.c.id).where(ingest_jobs.c.state.in_(ACTIVE)).limit(1)
        with self.engine.connect() as conn:
            return conn.execute(query).first() is not None

    def running_path(self, path: str) -> bool:
        """A worker is ingesting `path` now (its lease runs)."""
        query = select(ingest_jobs.c.id).where(
            ingest_jobs.c.path == path,
            ingest_jobs.c.state.in_(RUNNING),
            ingest_jobs.c.lease_until > self.clock(),
        )
        with self.engine.connect() as conn:
            return conn.execute(query.limit(1)).first() is not None

    def delete_finished(self, keep: int = 0) -> int:
        """Forget finished jobs but the newest `keep` (and those of a batch still running, whose
        progress is being followed); returns how many went."""
        finished = and_(ingest_jobs.c.state.not_in(ACTIVE), ~_batch_busy(any_kind=True))
        kept = select(ingest_jobs.c.id).where(finished).order_by(ingest_jobs.c.created.desc())
        with self.engine.begin() as conn:
            spare = [row.id for row in conn.execute(kept.limit(keep))] if keep else []
            gone = conn.execute(delete(ingest_jobs).where(finished, ingest_jobs.c.id.not_in(spare)))
        return int(gone.rowcount or 0)

    # --- claims ----------------------------------------------------------------------------
    def claim(
        self, worker: str, lease: float, limit: int = 64, *, batch: str | None = None
    ) -> list[UploadJob]:
        """The oldest jobs no live worker holds, now this worker's for `lease` seconds (a
        running job whose lease ran out starts again from the queue). Only jobs for any host
        or this one; with `batch`, only that batch's; a `sync` row once its batch's files are
        finished."""
        now, token = self.clock(), uuid.uuid4().hex
        free = or_(ingest_jobs.c.lease_until.is_(None), ingest_jobs.c.lease_until < now)
        here = or_(ingest_jobs.c.host.is_(None), ingest_jobs.c.host == self.host)
        ready = or_(ingest_jobs.c.kind != "sync", ~_batch_busy(any_kind=False))
        claimable = and_(ingest_jobs.c.state.in_(ACTIVE), free, here, ready)
        if batch is not None:
            claimable = and_(claimable, ingest_jobs.c.batch == batch)
        oldest = (
            select(ingest_jobs.c.id)
            .where(claimable)
            .order_by(ingest_jobs.c.created, ingest_jobs.c.id)
            .limit(limit)
            .with_for_update(skip_locked=True, of=ingest_jobs)
        )
        taken = {"worker": worker, "claim": token, "lease_until": now + lease, "state": "queued"}
        with self.engine.begin() as conn:
            if conn.dialect.name == "postgresql":  # the rows stay locked until the commit
                chosen: Any = [row.id for row in conn.execute(oldest)]
            else:  # one statement: SQLite runs one writer at a time, no other gets between
                chosen = oldest.scalar_subquery()
            conn.execute(
                update(ingest_jobs).where(ingest_jobs.c.id.in_(chosen), claimable).values(**taken)
            )
            mine = select(ingest_jobs).where(ingest_jobs.c.claim == token)
            found = conn.execute(mine.order_by(ingest_jobs.c.created, ingest_jobs.c.id)).mappings()
            return [_job(row) for row in found]

    def renew(self, worker: str, lease: float) -> None:
        """Keep this worker's unfinished jobs for another `lease` seconds."""
        with self.engine.begin() as conn:
            conn.execute(
                update(ingest_jobs)
                .where(ingest_jobs.c.worker == worker, ingest_jobs.c.state.in_(ACTIVE))
                .values(lease_until=self.clock() + lease)
            )

    def release(self, worker: str) -> None:
        """Give back this worker's jobs that have not started (it is stopping)."""
        with self.engine.begin() as conn:
            conn.execute(
                update(ingest_jobs)
                .where(ingest_jobs.c.worker == worker, ingest_jobs.c.state == "queued")
                .values(worker=None, claim=None, lease_until=None)
            )

    def free_dead_here(self) -> int:
        """Give back the jobs of this machine's workers whose processes are gone."""
        query = select(ingest_jobs.c.id, ingest_jobs.c.worker).where(
            ingest_jobs.c.state.in_(ACTIVE), ingest_jobs.c.worker.is_not(None)
        )
        with self.engine.begin() as conn:
            dead = [row.id for row in conn.execute(query) if dead_here(row.worker)]
            if dead:
                conn.execute(
                    update(ingest_jobs)
                    .where(ingest_jobs.c.id.in_(dead))
                    .values(state="queued", worker=None, claim=None, lease_until=None)
                )
        return len(dead)


def _batch_busy(*, any_kind: bool) -> Any:
    """A row's batch has an unfinished row (a file, or with `any_kind` its sync row too)."""
    other = ingest_jobs.alias("other")
    busy = and_(
        ingest_jobs.c.batch.is_not(None),
        other.c.batch == ingest_jobs.c.batch,
        other.c.state.in_(ACTIVE),
    )
    if not any_kind:
        busy = and_(busy, other.c.kind != "sync")
    return exists().where(busy)


def _row(job: UploadJob) -> dict[str, Any]:
    return {
        "id": job.id,
        "filename": job.filename[:500],
        "kind": job.kind,
        "state": job.state,
        "groups": json.dumps(list(job.groups)),
        "tags": json.dumps(list(job.tags)),
        "actor": job.actor[:200],
        "path": None if job.path is None else str(job.path),
        "reason": job.reason,
        "outcome": job.outcome,
        "chunks": job.chunks,
        "pages": job.pages,
        "created": job.created,
        "current_labels": job.current_labels,
        "batch": job.batch,
        "roots": json.dumps(list(job.roots)) if job.roots else None,
        "workers": job.workers,
        "force": job.force,
        "host": job.host,
        "source": job.source,
        "notes": json.dumps(list(job.notes)) if job.notes else None,
    }


def _column_value(name: str, value: Any) -> Any:
    if name in ("groups", "tags", "notes", "roots"):
        return json.dumps(list(value))
    if name == "path":
        return None if value is None else str(value)
    return value


def _strings(text: str | None) -> tuple[str, ...]:
    return tuple(str(item) for item in json.loads(text)) if text else ()


def _job(row: RowMapping) -> UploadJob:
    kind: Kind = row["kind"] if row["kind"] in KINDS else "upload"
    return UploadJob(
        id=row["id"],
        filename=row["filename"],
        kind=kind,
        state=row["state"],
        groups=_strings(row["groups"]),
        actor=row["actor"],
        path=None if row["path"] is None else Path(row["path"]),
        reason=row["reason"],
        outcome=row["outcome"],
        chunks=row["chunks"] or 0,
        pages=row["pages"],
        created=row["created"],
        tags=_strings(row["tags"]),
        current_labels=bool(row["current_labels"]),
        batch=row["batch"],
        roots=_strings(row["roots"]),
        workers=row["workers"],
        force=bool(row["force"]),
        host=row["host"],
        source=row["source"],
        notes=_strings(row["notes"]),
    )
