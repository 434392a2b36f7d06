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
ingested its groups cannot change (`JobWorker.holding` raises `Ingesting`): the run would
write the groups it started with.

The queue is the process's worker (`app.documents.worker`), which runs batch ingestion
(`docent ingest`, `app.documents.batches`) too: one row per file, claimed and reported like an
upload.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import socket
import time
import uuid
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import Engine

from app.documents.jobs import Kind, State, UploadJob, dead_here
from app.documents.library import regroup
from app.documents.upload_names import place, safe_name, unsupported_reason
from app.documents.worker import (
    CLAIM,
    LEASE_SECONDS,
    POLL_SECONDS,
    JobWorker,
    OptionsFor,
    ResultHook,
)
from ingest.catalog import DocumentCatalog
from ingest.embed import Embedder
from ingest.store import VectorStore

log = logging.getLogger(__name__)

INCOMING = ".incoming"  # half-received files; hidden, so folder ingestion skips them
QUEUED = ".queued"  # notes of queued jobs written by docent before jobs were in the database
NO_NOTE = "the upload was interrupted before its groups were recorded; upload it again"


class UploadQueue(JobWorker):
    """Uploaded files and re-index requests in the app database, ingested by this process's
    worker (`JobWorker`, with the workers of other app processes sharing the database)."""

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
        super().__init__(
            engine=engine,
            embedder=embedder,
            store=store,
            catalog=catalog,
            options=options,
            on_result=on_result,
            lease=lease,
            poll=poll,
            claim=claim,
            worker=worker,
            batch=batch,
        )
        self.folder, self._keep = folder, keep
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

    def clear_finished(self) -> int:
        """Forget finished jobs (the documents stay); returns how many."""
        return self._table.delete_finished()

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
