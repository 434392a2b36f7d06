"""The worker loop that runs every ingestion job of the app database (`app.documents.jobs`):
uploads, re-indexes, and the files of a `docent ingest` batch with its sync step.

Each app process runs one loop (a thread): it claims the jobs waiting at that moment for a
renewed lease, ingests them in as few pipeline runs as their options allow (one run shares one
parser pool), and writes each file's state (queued, parsing, embedding, done, failed), outcome
and error to its row as it goes, so every process shows the same progress. `docent ingest` run
directly starts a loop of its own that claims only its batch. While a file is being ingested
its groups cannot change (`JobWorker.holding` raises `Ingesting`): the run would write the
groups it started with.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

from sqlalchemy import Engine

from app.documents.jobs import JobTable, UploadJob, worker_name
from app.documents.running import Renewing, Watched, is_source, removed_under, runs
from ingest.catalog import DocumentCatalog
from ingest.embed import Embedder
from ingest.pipeline import IngestOptions, IngestResult, ingest_paths
from ingest.store import VectorStore

log = logging.getLogger(__name__)

LEASE_SECONDS = 120.0  # a worker's hold on its jobs, renewed while it works
POLL_SECONDS = 2.0  # how often an idle worker looks for jobs other processes queued
CLAIM = 16  # jobs a worker takes at once (they share one pipeline run when their options match)
_WRITTEN = {"new", "updated", "unchanged", "moved"}

OptionsFor = Callable[
    [tuple[str, ...], bool, tuple[str, ...]], IngestOptions
]  # groups, force, tags
ResultHook = Callable[[IngestResult], None]


class JobWorker:
    """This process's worker: claims and runs the jobs of the app database (with the workers
    of other app processes sharing it)."""

    def __init__(
        self,
        *,
        engine: Engine,
        embedder: Embedder,
        store: VectorStore,
        catalog: DocumentCatalog,
        options: OptionsFor,
        on_result: ResultHook | None = None,
        lease: float = LEASE_SECONDS,
        poll: float = POLL_SECONDS,
        claim: int = CLAIM,
        worker: str | None = None,
        batch: str | None = None,
    ) -> None:
        self.embedder, self.store, self.catalog = embedder, store, catalog
        self._options, self._on_result = options, on_result
        self._table = JobTable(engine)
        self.worker = worker or worker_name()
        self._lease, self._poll, self._claim = lease, poll, claim
        self._batch = batch  # claim only this batch's rows (`docent ingest` run directly)
        self._lock = threading.Condition()  # notified on every change this process makes
        self._thread: threading.Thread | None = None
        self._closed = False
        self._pick = threading.Lock()  # held while a batch is chosen and while groups change
        self._running: set[str] = set()  # the files of the batch being ingested (resolved paths)

    @contextmanager
    def holding(self, source: Path) -> Iterator[None]:
        """For changing `source`'s groups: the worker starts no file meanwhile, and a file
        being ingested right now raises `Ingesting` (its run writes the groups it began with;
        a queued re-index reads them when it starts)."""
        with self._pick:
            resolved = str(source.resolve())
            if resolved in self._running or self._table.running_path(str(source)):
                raise Ingesting(f"{source.name} is being ingested right now; try again when done")
            yield

    def get(self, job_id: str) -> UploadJob | None:
        return self._table.get(job_id)

    def busy(self) -> bool:
        return self._table.any_active()

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Block until no job is queued or running; False on timeout."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while self._table.any_active():
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._lock.wait(min(left, 0.2))  # other processes' jobs change unannounced
        return True

    def close(self, timeout: float = 60.0) -> None:
        """Finish the file being ingested, then stop; jobs not started are given back."""
        with self._lock:
            self._closed = True
            self._lock.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)
        self._table.release(self.worker)

    def _queue(self, job: UploadJob) -> None:
        with self._lock:
            self._lock.notify_all()
        self._start()

    def start(self) -> None:
        """Start the worker without `recover` (`docent ingest` running its own batch)."""
        self._start()

    def wake(self) -> None:
        """Look for jobs now (another part of this process queued some in the table)."""
        with self._lock:
            self._lock.notify_all()
        self._start()

    @property
    def table(self) -> JobTable:
        """The job rows this worker runs."""
        return self._table

    def running(self) -> bool:
        """The worker thread is alive (started and not stopped)."""
        return self._thread is not None and self._thread.is_alive()

    def _start(self) -> None:
        with self._lock:
            if self._thread is None and not self._closed:
                self._thread = threading.Thread(target=self._run, name="uploads", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        """Claim the jobs waiting at that moment and ingest them in as few pipeline runs as
        their options allow (one run shares one parser pool: its start-up costs seconds);
        when there are none, wait for this process's next job or look again shortly."""
        while not self._closed:
            claimed = self._table.claim(self.worker, self._lease, self._claim, batch=self._batch)
            if not claimed:
                with self._lock:
                    if not self._closed:
                        self._lock.wait(self._poll)
                continue
            with Renewing(self._table, self.worker, self._lease):
                self._run_claimed([job.id for job in claimed])

    def _run_claimed(self, ids: list[str]) -> None:
        while ids and not self._closed:
            with self._pick:  # the batch's groups are read and frozen in one step
                jobs = [job for job_id in ids if (job := self._labelled(job_id))]
                if not jobs:
                    return
                batch = runs(jobs)[0]
                self._running = {os.path.realpath(job.path) for job in batch if job.path}
            try:
                self._ingest(batch)
            finally:
                with self._pick:
                    self._running = set()
            done = {job.id for job in batch}
            ids = [job_id for job_id in ids if job_id not in done]

    def _labelled(self, job_id: str) -> UploadJob | None:
        """The job if it still waits, a re-index with its document's groups and tags now."""
        job = self.get(job_id)
        if job is None or job.state != "queued":
            return None
        if not job.current_labels:
            return job
        record = self.catalog.get_by_source(str(job.path))
        if record is None:
            self._set(job.id, state="failed", reason="the document was deleted before it ran")
            return None
        self._set(job.id, groups=record.groups, tags=record.tags)
        return self.get(job.id)

    def _ingest(self, batch: list[UploadJob]) -> None:
        first = batch[0]
        if first.kind == "sync":
            return self._sync(first)
        listed = first.kind == "ingest"  # a batch's entries: the pipeline judges each one
        present = []
        for job in batch:
            if job.path is not None and (listed or job.path.is_file()):
                present.append(job)
            else:
                self._set(job.id, state="failed", reason="the file is gone")
        if not present:
            return None
        progress = _Progress(self, present)
        options = self._options(first.groups, first.kind == "reindex" or first.force, first.tags)
        if first.workers is not None:
            options = replace(options, workers=first.workers)
        try:
            ingest_paths(
                [job.path for job in present if job.path is not None],
                embedder=Watched(self.embedder, progress.embedding),
                store=self.store,
                catalog=self.catalog,
                options=replace(options, sync=False, dry_run=False),
                on_result=progress.finished,
                roots=[Path(root) for root in first.roots] if listed else None,
            )
        except _Stopped:  # the app is stopping: the rest stays queued for the next start
            return None
        except Exception as exc:  # reported on the jobs; the queue goes on with the next ones
            log.exception("ingesting %d files failed", len(present))
            progress.fail_rest(f"{type(exc).__name__}: {exc}")
            return None
        progress.fail_rest("nothing was ingested")
        return None

    def _sync(self, job: UploadJob) -> None:
        """A batch's last step: remove the documents under its paths whose files are gone,
        each listed as a finished row of the batch."""
        self._set(job.id, state="parsing")
        try:
            removed = removed_under(job.roots, self.store, self.catalog)
        except Exception as exc:  # reported on the row; the queue goes on
            log.exception("removing the documents whose files are gone failed")
            self._set(job.id, state="failed", reason=f"{type(exc).__name__}: {exc}")
            return
        rows = [_removal(job, result) for result in removed]
        self._table.add_many(rows)
        for result in removed:
            if self._on_result is not None:
                self._on_result(result)
        self._set(job.id, state="done", outcome="removed", chunks=0)

    def _finish(self, job_id: str, result: IngestResult | None) -> None:
        if result is None:
            self._set(job_id, state="failed", reason="nothing was ingested")
        elif result.status in _WRITTEN:
            self._set(
                job_id,
                state="done",
                outcome=result.status,
                chunks=result.chunks,
                pages=result.pages,
                reason=result.reason,
                source=result.source,
                notes=result.notes,
            )
        else:
            reason = result.reason or result.status
            self._set(
                job_id, state="failed", outcome=result.status, reason=reason, source=result.source
            )

    def _set(self, job_id: str, **changes: object) -> None:
        self._table.update(job_id, **changes)
        with self._lock:
            self._lock.notify_all()


class Ingesting(RuntimeError):
    """A file's groups cannot change now: it is being ingested (see `UploadQueue.holding`)."""


class _Stopped(Exception):
    """Raised from the pipeline's result hook when the queue closes: stop after this file."""


class _Progress:
    """Follows one pipeline run over several jobs: results come one file at a time, in order;
    the first unfinished job is the one being parsed or embedded."""

    def __init__(self, owner: JobWorker, jobs: list[UploadJob]) -> None:
        self.owner, self.unfinished = owner, list(jobs)
        owner._set(jobs[0].id, state="parsing")

    def embedding(self) -> None:
        if self.unfinished:
            self.owner._set(self.unfinished[0].id, state="embedding")

    def finished(self, result: IngestResult) -> None:
        if self.owner._on_result is not None:
            self.owner._on_result(result)
        job = next((j for j in self.unfinished if is_source(j, result.source)), None)
        if job is not None:
            self.unfinished.remove(job)
            self.owner._finish(job.id, result)
        if self.owner._closed:
            raise _Stopped
        if self.unfinished:
            self.owner._set(self.unfinished[0].id, state="parsing")

    def fail_rest(self, reason: str) -> None:
        for job in self.unfinished:
            self.owner._set(job.id, state="failed", reason=reason)
        self.unfinished = []


def _removal(sync: UploadJob, result: IngestResult) -> UploadJob:
    """A finished row of `sync`'s batch for a document its step removed."""
    return UploadJob(
        uuid.uuid4().hex[:12],
        Path(result.source).name,
        "remove",
        "done",
        sync.groups,
        sync.actor,
        outcome="removed",
        reason=result.reason,
        created=time.time(),
        batch=sync.batch,
        host=sync.host,
        source=result.source,
    )
