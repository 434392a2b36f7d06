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
    insert,
    or_,
    select,
    update,
)

from app.accounts.db import create_all, metadata

State = Literal["queued", "parsing", "embedding", "done", "failed"]
Kind = Literal["upload", "reindex"]
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
)
Index("ingest_jobs_state", ingest_jobs.c.state, ingest_jobs.c.created)


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

    def __init__(self, engine: Engine, clock: Callable[[], float] = time.time) -> None:
        self.engine, self.clock = engine, clock
        create_all(engine)

    def add(self, job: UploadJob) -> None:
        with self.engine.begin() as conn:
            conn.execute(insert(ingest_jobs).values(**_row(job)))

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
        """Forget finished jobs but the newest `keep`; returns how many went."""
        finished = ingest_jobs.c.state.not_in(ACTIVE)
        kept = select(ingest_jobs.c.id).where(finished).order_by(ingest_jobs.c.created.desc())
        with self.engine.begin() as conn:
            spare = [row.id for row in conn.execute(kept.limit(keep))] if keep else []
            gone = conn.execute(delete(ingest_jobs).where(finished, ingest_jobs.c.id.not_in(spare)))
        return int(gone.rowcount or 0)

    # --- claims ----------------------------------------------------------------------------
    def claim(self, worker: str, lease: float, limit: int = 64) -> list[UploadJob]:
        """The oldest jobs no live worker holds, now this worker's for `lease` seconds (a
        running job whose lease ran out starts again from the queue)."""
        now, token = self.clock(), uuid.uuid4().hex
        free = or_(ingest_jobs.c.lease_until.is_(None), ingest_jobs.c.lease_until < now)
        claimable = and_(ingest_jobs.c.state.in_(ACTIVE), free)
        oldest = (
            select(ingest_jobs.c.id)
            .where(claimable)
            .order_by(ingest_jobs.c.created)
            .limit(limit)
            .with_for_update(skip_locked=True)
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
            found = conn.execute(mine.order_by(ingest_jobs.c.created)).mappings()
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
    }


def _column_value(name: str, value: Any) -> Any:
    if name in ("groups", "tags"):
        return json.dumps(list(value))
    if name == "path":
        return None if value is None else str(value)
    return value


def _strings(text: str) -> tuple[str, ...]:
    return tuple(str(item) for item in json.loads(text))


def _job(row: RowMapping) -> UploadJob:
    kind: Kind = "reindex" if row["kind"] == "reindex" else "upload"
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
    )
