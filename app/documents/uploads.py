"""The upload queue: files admins upload are saved under DATA_DIR/uploads and ingested by one
background thread, each with a live state (queued, parsing, embedding, done, failed). Files
waiting together go through one pipeline run (one parser pool), finishing one after another.

Names come from `upload_names` (a client's file name is never trusted as a path). Jobs are
rows of the app database (`app.documents.jobs`): every app process shows the same jobs, a job
survives restarts, and each process's worker claims the jobs it runs, so with PostgreSQL (and a
Qdrant server) several workers share one queue, each file ingested once. Jobs not finished
when the app stopped (even killed) are taken up again with their groups; a saved file no job
covers is listed as failed rather than ingested for everyone (`recover`). The uploaded files
themselves are under DATA_DIR/uploads: app processes on several machines need it shared.

A re-index keeps the document's groups and tags as the catalog has them when the job *runs*, not
when it was queued, so a group change made while it waits is not undone. While a file is being
ingested its groups cannot change (`UploadQueue.holding` raises `Ingesting`): the run would
write the groups it started with.

The same worker loop runs batch ingestion (`docent ingest`, `app.documents.batches`): one row
per file, claimed and reported like an upload. `docent ingest` run directly starts a queue of
its own that claims only its batch (`batch=`); the web app's queue claims every job.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

from sqlalchemy import Engine

from app.documents.jobs import JobTable, Kind, State, UploadJob, dead_here, worker_name
from app.documents.library import regroup
from app.documents.running import Renewing, Watched, is_source, removed_under, runs
from app.documents.upload_names import place, safe_name, unsupported_reason
from ingest.catalog import DocumentCatalog
from ingest.embed import Embedder
from ingest.pipeline import IngestOptions, IngestResult, ingest_paths
from ingest.store import VectorStore

log = logging.getLogger(__name__)

INCOMING = ".incoming"  # half-received files; hidden, so folder ingestion skips them
QUEUED = ".queued"  # notes of queued jobs written by docent before jobs were in the database
NO_NOTE = "the upload was interrupted before its groups were recorded; upload it again"
LEASE_SECONDS = 120.0  # a worker's hold on its jobs, renewed while it works
POLL_SECONDS = 2.0  # how often an idle worker looks for jobs other processes queued
CLAIM = 16  # jobs a worker takes at once (they share one pipeline run when their options match)
_WRITTEN = {"new", "updated", "unchanged", "moved"}

OptionsFor = Callable[
    [tuple[str, ...], bool, tuple[str, ...]], IngestOptions
]  # groups, force, tags
ResultHook = Callable[[IngestResult], None]


class UploadQueue:
    """Uploaded files and re-index requests in the app database, ingested by this process's
    worker thread (and by the workers of other app processes sharing the database)."""

    def __init__(
        self,
        folder: Path,
        *,
        engine: Engine,
        embedder: Embedder,
        store: VectorStore,
        catalog: DocumentCatalog,
        options: OptionsFor,
        on_result: ResultHook | None = None,
        keep: int = 300,
        lease: float = LEASE_SECONDS,
        poll: float = POLL_SECONDS,
        claim: int = CLAIM,
        worker: str | None = None,
        batch: str | None = None,
    ) -> None:
        self.folder = folder
        self.embedder, self.store, self.catalog = embedder, store, catalog
        self._options, self._on_result, self._keep = options, on_result, keep
        self._table = JobTable(engine)
        self.worker = worker or worker_name()
        self._lease, self._poll, self._claim = lease, poll, claim
        self._batch = batch  # claim only this batch's rows (`docent ingest` run directly)
        self._lock = threading.Condition()  # notified on every change this process makes
        self._thread: threading.Thread | None = None
        self._closed = False
        self._pick = threading.Lock()  # held while a batch is chosen and while groups change
        self._running: set[str] = set()  # the files of the batch being ingested (resolved paths)
        self._receiver = f"{socket.gethostname()}:{os.getpid()}:in"  # this process's `incoming`

    @property
    def incoming(self) -> Path:
        """Where request handlers stream files before `add_file` names them: a folder of this
        process's own under `.incoming`, so that a process starting beside others (on this
        machine, or on another sharing the uploads volume) clears only what dead ones left."""
        path = self.folder / INCOMING / self._receiver
        path.mkdir(parents=True, exist_ok=True)
        return path

    # --- adding work ---------------------------------------------------------------------------
    def add_file(
        self,
        received: Path,
        client_name: str,
        groups: Sequence[str] = (),
        actor: str = "",
        *,
        replace_existing: bool = False,
    ) -> UploadJob:
        """Name a received file safely, save it under the folder and queue it."""
        name = safe_name(client_name)
        if reason := unsupported_reason(name):
            received.unlink(missing_ok=True)
            return self.add_refused(client_name, reason, actor)
        path = place(received, self.folder, name, replace_existing=replace_existing)
        job = self._new(path.name, "upload", "queued", tuple(groups), actor, path=path)
        self._queue(job)
        return job

    def add_refused(self, client_name: str, reason: str, actor: str = "") -> UploadJob:
        """A file refused on arrival (too big, wrong type): listed as failed, never saved."""
        return self._new(safe_name(client_name), "upload", "failed", (), actor, reason=reason)

    def add_reindex(
        self,
        source: Path,
        groups: Sequence[str] | None = None,
        actor: str = "",
        tags: Sequence[str] | None = None,
    ) -> UploadJob:
        """Parse and embed a catalog document again from its file. `groups` None: with the
        groups and tags the catalog has for it when the job runs (not when it was queued)."""
        current = groups is None
        if current:
            record = self.catalog.get_by_source(str(source))
            groups, tags = (record.groups, record.tags) if record else ((), ())
        job = self._new(
            source.name,
            "reindex",
            "queued",
            tuple(groups or ()),
            actor,
            path=source,
            tags=tuple(tags or ()),
            current_labels=current,
        )
        self._queue(job)
        return job

    def regroup(self, source: Path, groups: Sequence[str], actor: str = "") -> UploadJob:
        """Change who may read the document of `source`, recorded as a job row. An ingested
        one's passages are updated at once, nothing embedded again (the row is finished: a
        group change does not wait behind queued files); one not ingested is queued to be
        ingested again with these groups. `Ingesting` while its file is being ingested."""
        with self.holding(source):
            record = self.catalog.get_by_source(str(source))
            if record is None or record.status != "ok" or not record.version:
                tags = record.tags if record is not None else ()
                return self.add_reindex(source, groups, actor, tags)
            regroup(record, groups, self.store, self.catalog)
            job = UploadJob(
                uuid.uuid4().hex[:12],
                source.name,
                "regroup",
                "done",
                tuple(groups),
                actor,
                source,
                outcome="updated",
                chunks=record.chunk_count,
                pages=record.pages,
                created=time.time(),
                tags=record.tags,
                source=record.source,
            )
            self._table.add(job)
            return job

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

    def recover(self) -> list[UploadJob]:
        """At start: take up again the jobs of this machine's workers that died (same id,
        groups and tags); list a saved file the catalog has not finished and no job covers as
        failed (its groups are unknown, so it is not ingested for everyone); start the worker.
        Returns the jobs still to do and those just listed as failed."""
        self._import_notes()
        self._table.free_dead_here()
        jobs = self._table.active()
        if self.folder.is_dir():
            finished = {r.source for r in self.catalog.all() if r.status != "pending"}
            covered = {job.path.resolve() for job in jobs if job.path is not None}
            for path in sorted(p for p in self.folder.iterdir() if p.is_file()):
                known = str(path.resolve()) in finished or path.resolve() in covered
                if not known and not path.name.startswith("."):
                    jobs.append(self._new(path.name, "upload", "failed", (), "", reason=NO_NOTE))
            self._clear_incoming()
        self._start()
        return jobs

    def _clear_incoming(self) -> None:
        """Files half-received when their process stopped: this process's own folder, those
        of this machine's processes that are gone, and loose files an older docent left."""
        self.incoming.mkdir(parents=True, exist_ok=True)
        for stale in (self.folder / INCOMING).iterdir():
            if stale.is_dir() and (stale.name == self._receiver or dead_here(stale.name)):
                shutil.rmtree(stale, ignore_errors=True)
            elif not stale.is_dir():
                stale.unlink(missing_ok=True)
        self.incoming.mkdir(parents=True, exist_ok=True)

    # --- reading state -------------------------------------------------------------------------
    def jobs(self) -> list[UploadJob]:
        """Newest first."""
        return self._table.newest(self._keep)

    def get(self, job_id: str) -> UploadJob | None:
        return self._table.get(job_id)

    def busy(self) -> bool:
        return self._table.any_active()

    def clear_finished(self) -> int:
        """Forget finished jobs (the documents stay); returns how many."""
        return self._table.delete_finished()

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

    # --- notes written before jobs were in the database ----------------------------------------
    def _import_notes(self) -> None:
        """Jobs an older docent left as notes on disk become rows (then the notes go)."""
        notes = self.folder / QUEUED
        if not notes.is_dir():
            return
        for note in sorted(notes.iterdir()):
            job = self._from_note(note) if note.suffix == ".json" else None
            if job is not None and self._table.get(job.id) is None:
                self._table.add(job)
            note.unlink(missing_ok=True)

    def _from_note(self, note: Path) -> UploadJob | None:
        try:
            data = json.loads(note.read_text())
            kind: Kind = "reindex" if data["kind"] == "reindex" else "upload"
            groups, tags = tuple(map(str, data["groups"])), tuple(map(str, data["tags"]))
            path = Path(data["path"])
        except (OSError, ValueError, KeyError, TypeError):
            log.warning("unreadable upload note %s: ignored", note)
            return None
        return UploadJob(
            note.stem,
            str(data.get("filename") or path.name),
            kind,
            "queued",
            groups,
            str(data.get("actor") or ""),
            path,
            created=time.time(),
            tags=tags,
            current_labels=bool(data.get("current_labels", False)),
        )

    # --- the worker ----------------------------------------------------------------------------
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

    def _new(
        self,
        filename: str,
        kind: Kind,
        state: State,
        groups: tuple[str, ...],
        actor: str,
        *,
        path: Path | None = None,
        reason: str | None = None,
        tags: tuple[str, ...] = (),
        current_labels: bool = False,
    ) -> UploadJob:
        job = UploadJob(
            uuid.uuid4().hex[:12],
            filename,
            kind,
            state,
            groups,
            actor,
            path,
            reason,
            created=time.time(),
            tags=tags,
            current_labels=current_labels,
        )
        self._table.add(job)
        self._table.delete_finished(keep=self._keep)
        with self._lock:
            self._lock.notify_all()
        return job

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

    def __init__(self, owner: UploadQueue, jobs: list[UploadJob]) -> None:
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
