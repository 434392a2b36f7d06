"""Batch ingestion (`docent ingest`, directly or through a running server) as job rows.

`submit` lists the files under the paths given, one `ingest` row each, sharing a batch id (and
a `sync` row when documents whose files are gone are to be removed); the worker loop of
`app.documents.uploads` runs them like uploads. `follow` reads the batch's rows until none is
left to do, turning each finished row into the `IngestResult` the pipeline gave for it, so
the same progress shows from any process that reads the app database.

A file name that is not UTF-8 cannot be a row's path (PostgreSQL text holds UTF-8 only): it is
listed as skipped at once, with the reason the pipeline gives, and never ingested.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from app.documents.jobs import JobTable, UploadJob
from ingest.pipeline import IngestResult, expand_paths
from ingest.planning import NOT_UTF8, is_utf8

REMOVED = "file no longer exists"


@dataclass(frozen=True)
class BatchRequest:
    """What one `docent ingest` asks for (its options beside the app's settings)."""

    paths: tuple[Path, ...]
    groups: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    sync: bool = False
    workers: int | None = None  # parser processes; None: the worker's setting
    force: bool = False  # parse and embed again even when nothing changed (re-index)
    actor: str = ""


@dataclass(frozen=True)
class Batch:
    id: str
    files: int  # the files listed: the progress bar's total


def submit(table: JobTable, request: BatchRequest, *, pinned: bool = True) -> Batch:
    """Queue a batch: its rows are added in one transaction. `pinned`: only this machine's
    workers take them (the paths are this machine's)."""
    batch_id = uuid.uuid4().hex[:12]
    roots = tuple(str(path.absolute()) for path in request.paths)
    host = table.host if pinned else None
    created = time.time()
    rows: list[UploadJob] = []

    def add(path: Path | None, name: str, **extra: object) -> None:
        base = dict(
            id=uuid.uuid4().hex[:12],
            filename=name,
            kind="ingest",
            state="queued",
            groups=request.groups,
            actor=request.actor,
            path=path,
            created=created + len(rows) * 1e-6,  # keeps the listing's order
            tags=request.tags,
            batch=batch_id,
            roots=roots,
            workers=request.workers,
            force=request.force,
            host=host,
        )
        rows.append(UploadJob(**(base | extra)))  # type: ignore[arg-type]

    files = 0
    for path in expand_paths(Path(root) for root in roots):
        files += 1
        if is_utf8(str(path)):
            add(path, path.name)
        else:  # listed as the pipeline lists it, never a row's path
            shown = os.fsencode(path).decode("utf-8", "backslashreplace")
            name = Path(shown).name
            add(None, name, state="failed", outcome="skipped", reason=NOT_UTF8, source=shown)
    if request.sync:
        add(None, "(documents whose files are gone)", kind="sync")
    table.add_many(rows)
    return Batch(batch_id, files)


def result_of(job: UploadJob) -> IngestResult | None:
    """The pipeline's result for a finished file row (None: not finished, or a sync row)."""
    if job.active or job.kind == "sync":
        return None
    source = job.source or (str(job.path) if job.path is not None else job.filename)
    if job.state == "done":
        status = job.outcome if job.outcome in _WRITTEN else "new"
        return IngestResult(source, status, job.chunks, job.pages, job.reason, job.notes)  # type: ignore[arg-type]
    status = job.outcome if job.outcome in ("skipped", "failed") else "failed"
    return IngestResult(source, status, reason=job.reason, notes=job.notes)  # type: ignore[arg-type]


_WRITTEN = ("new", "updated", "unchanged", "moved", "removed")


def follow(
    table: JobTable,
    batch: str,
    on_result: Callable[[IngestResult], None] | None = None,
    *,
    poll: float = 0.2,
    alive: Callable[[], bool] = lambda: True,
    timeout: float | None = None,
) -> list[IngestResult]:
    """Every result of the batch, as its rows finish (`on_result` for each), until none is left
    to do. `alive` False (the worker expected to run it stopped), or `timeout` seconds passed:
    `BatchStopped`."""
    found: list[IngestResult] = []
    for result in results(table, batch, poll, alive, timeout):
        found.append(result)
        if on_result is not None:
            on_result(result)
    return found


def results(
    table: JobTable,
    batch: str,
    poll: float = 0.2,
    alive: Callable[[], bool] = lambda: True,
    timeout: float | None = None,
) -> Iterator[IngestResult]:
    """The batch's results as its rows finish, until none is left to do."""
    deadline = None if timeout is None else time.monotonic() + timeout
    seen: set[str] = set()
    while True:
        rows = table.batch(batch)
        for job in rows:
            result = result_of(job)
            if result is not None and job.id not in seen:
                seen.add(job.id)
                yield result
        if not any(job.active for job in rows):
            return
        if not alive():
            raise BatchStopped("the ingestion worker stopped before the batch was done")
        if deadline is not None and time.monotonic() > deadline:
            raise BatchStopped(f"the batch was not done after {timeout} seconds")
        time.sleep(poll)


def cancel(table: JobTable, batch: str, reason: str = "cancelled") -> int:
    """Fail the batch's rows no worker has started (Ctrl-C on `docent ingest`)."""
    waiting = [job for job in table.batch(batch) if job.state == "queued"]
    for job in waiting:
        table.update(job.id, state="failed", reason=reason)
    return len(waiting)


class BatchStopped(RuntimeError):
    """The worker running a batch stopped before the batch was done."""
