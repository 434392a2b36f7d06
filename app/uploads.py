"""The upload queue: files admins upload are saved under DATA_DIR/uploads and ingested one at a
time in a background thread, each with a live state (queued, parsing, embedding, done, failed).

File names come from the client, so they are never trusted: `safe_name` keeps only a plain name,
and `place` gives a duplicate a distinct one without overwriting anything. The queue lives in
this process, with a note per queued job on disk (DATA_DIR/uploads/.queued: file, groups, tags);
jobs not finished when the app stopped (even killed) are queued again at start with their groups,
and a saved file without a note is listed as failed rather than ingested for everyone (`recover`).
"""

from __future__ import annotations

import json
import logging
import os
import queue
import re
import threading
import time
import unicodedata
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

from ingest.catalog import Catalog
from ingest.embed import Embedder
from ingest.parse import SUPPORTED_SUFFIXES
from ingest.pipeline import IngestOptions, IngestResult, ingest_paths
from ingest.store import VectorStore

log = logging.getLogger(__name__)

State = Literal["queued", "parsing", "embedding", "done", "failed"]
Kind = Literal["upload", "reindex"]
ACTIVE: frozenset[State] = frozenset({"queued", "parsing", "embedding"})
INCOMING = ".incoming"  # half-received files; hidden, so folder ingestion skips them
QUEUED = ".queued"  # one note per unfinished job, so a restart resumes it with its groups
NO_NOTE = "the upload was interrupted before its groups were recorded; upload it again"
MAX_NAME_BYTES = 150  # room left for " (NNN)" and the file system's 255
_RESERVED = re.compile(r'[<>:"|?*/\\]')
_WRITTEN = {"new", "updated", "unchanged", "moved"}

OptionsFor = Callable[
    [tuple[str, ...], bool, tuple[str, ...]], IngestOptions
]  # groups, force, tags
ResultHook = Callable[[IngestResult], None]


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


def safe_name(raw: str, fallback: str = "upload") -> str:
    """A plain file name from a client's: no folders, no control characters, no leading dots."""
    name = unicodedata.normalize("NFC", raw or "")
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in name if not unicodedata.category(c).startswith("C"))
    name = " ".join(_RESERVED.sub("_", name).split()).strip(" .")
    stem, dot, suffix = name.rpartition(".")
    if not dot or not stem or len(suffix) > 16 or " " in suffix:
        stem, suffix = name, ""
    stem = _clip(stem.strip(" ."), MAX_NAME_BYTES - len(suffix.encode()) - 1) or fallback
    return f"{stem}.{suffix}" if suffix else stem


def _clip(text: str, max_bytes: int) -> str:
    encoded = text.encode("utf-8")[:max_bytes]
    return encoded.decode("utf-8", errors="ignore").rstrip()


def unsupported_reason(name: str) -> str | None:
    """Why a file of this name cannot be ingested, or None."""
    suffix = Path(name).suffix.lower()
    if suffix in SUPPORTED_SUFFIXES:
        return None
    known = " ".join(sorted(SUPPORTED_SUFFIXES))
    return f"unsupported file type {suffix or '(no extension)'}; docent reads {known}"


def place(received: Path, folder: Path, name: str, *, replace_existing: bool = False) -> Path:
    """Move a received file to `folder/name`; a taken name becomes "name (2).ext" and so on
    (never overwritten unless `replace_existing`). Returns where it went."""
    folder.mkdir(parents=True, exist_ok=True)
    if replace_existing:
        target = folder / name
        os.replace(received, target)
        return target
    stem, suffix = Path(name).stem, Path(name).suffix
    for n in range(1, 10_000):
        target = folder / (name if n == 1 else f"{stem} ({n}){suffix}")
        try:
            os.link(received, target)  # atomic: fails if the name is taken
        except FileExistsError:
            continue
        received.unlink()
        return target
    raise FileExistsError(f"no free name for {name} in {folder}")


class _Watched:
    """The app's embedder, telling the queue when the pipeline starts embedding a file."""

    def __init__(self, inner: Embedder, started: Callable[[], None]) -> None:
        self._inner, self._started = inner, started
        self.name, self.dimension, self.max_tokens = inner.name, inner.dimension, inner.max_tokens

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        self._started()
        return self._inner.embed(texts)

    def count_tokens(self, text: str) -> int:
        return self._inner.count_tokens(text)


class UploadQueue:
    """Uploaded files and re-index requests, ingested one at a time by one background thread."""

    def __init__(
        self,
        folder: Path,
        *,
        embedder: Embedder,
        store: VectorStore,
        catalog: Catalog,
        options: OptionsFor,
        on_result: ResultHook | None = None,
        keep: int = 300,
    ) -> None:
        self.folder = folder
        self.embedder, self.store, self.catalog = embedder, store, catalog
        self._options, self._on_result, self._keep = options, on_result, keep
        self._jobs: dict[str, UploadJob] = {}
        self._lock = threading.Condition()
        self._todo: queue.Queue[str | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._closed = False

    @property
    def incoming(self) -> Path:
        """Where request handlers stream files before `add_file` names them."""
        path = self.folder / INCOMING
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
        self, source: Path, groups: Sequence[str], actor: str = "", tags: Sequence[str] = ()
    ) -> UploadJob:
        """Parse and embed a catalog document again from its file."""
        job = self._new(
            source.name, "reindex", "queued", tuple(groups), actor, path=source, tags=tuple(tags)
        )
        self._queue(job)
        return job

    def recover(self) -> list[UploadJob]:
        """After a stop or a crash: queue again the jobs whose notes remain (same id, groups and
        tags); list a saved file the catalog has not finished and no note covers as failed
        (its groups are unknown, so it is not ingested for everyone). Returns the jobs listed."""
        if not self.folder.is_dir():
            return []
        finished = {r.source for r in self.catalog.all() if r.status != "pending"}
        jobs, noted = [], set()
        for note in sorted(self._notes.glob("*.json")):
            job = self._from_note(note)
            if job is None or job.path is None:
                note.unlink(missing_ok=True)
                continue
            noted.add(job.path.resolve())  # done before the stop: comes out "unchanged"
            with self._lock:
                self._jobs[job.id] = job
            jobs.append(job)
            self._queue(job, write_note=False)
        for path in sorted(p for p in self.folder.iterdir() if p.is_file()):
            known = str(path.resolve()) in finished or path.resolve() in noted
            if not known and not path.name.startswith("."):
                jobs.append(self._new(path.name, "upload", "failed", (), "", reason=NO_NOTE))
        for stale in self.incoming.iterdir():  # half-received when the app stopped
            stale.unlink(missing_ok=True)
        return jobs

    # --- reading state -------------------------------------------------------------------------
    def jobs(self) -> list[UploadJob]:
        """Newest first."""
        with self._lock:
            return sorted(self._jobs.values(), key=lambda job: job.created, reverse=True)

    def get(self, job_id: str) -> UploadJob | None:
        with self._lock:
            return self._jobs.get(job_id)

    def busy(self) -> bool:
        with self._lock:
            return any(job.active for job in self._jobs.values())

    def clear_finished(self) -> int:
        """Forget finished jobs (the documents stay); returns how many."""
        with self._lock:
            done = [job_id for job_id, job in self._jobs.items() if not job.active]
            for job_id in done:
                del self._jobs[job_id]
            return len(done)

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Block until no job is queued or running; False on timeout."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while any(job.active for job in self._jobs.values()):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._lock.wait(left)
        return True

    def close(self, timeout: float = 60.0) -> None:
        """Finish the file being ingested, then stop (queued files are recovered next start)."""
        self._closed = True
        self._todo.put(None)
        if self._thread is not None:
            self._thread.join(timeout)

    # --- notes of queued jobs ------------------------------------------------------------------
    @property
    def _notes(self) -> Path:
        path = self.folder / QUEUED
        path.mkdir(parents=True, exist_ok=True)
        return path

    def _queue(self, job: UploadJob, *, write_note: bool = True) -> None:
        if write_note:
            note: dict[str, object] = {"filename": job.filename, "kind": job.kind}
            note |= {"path": str(job.path), "groups": job.groups, "tags": job.tags}
            note["actor"] = job.actor
            temporary = self._notes / f".{job.id}.tmp"
            temporary.write_text(json.dumps(note))
            os.replace(temporary, self._notes / f"{job.id}.json")  # whole or absent
        self._todo.put(job.id)
        self._start()

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
        )

    # --- the worker ----------------------------------------------------------------------------
    def _start(self) -> None:
        with self._lock:
            if self._thread is None and not self._closed:
                self._thread = threading.Thread(target=self._run, name="uploads", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while (job_id := self._todo.get()) is not None and not self._closed:
            job = self.get(job_id)
            if job is not None and job.state == "queued":
                self._ingest(job)

    def _ingest(self, job: UploadJob) -> None:
        assert job.path is not None
        if not job.path.is_file():
            self._set(job.id, state="failed", reason="the file is gone")
            return
        self._set(job.id, state="parsing")
        watched = _Watched(self.embedder, lambda: self._set(job.id, state="embedding"))
        try:
            results = ingest_paths(
                [job.path],
                embedder=watched,
                store=self.store,
                catalog=self.catalog,
                options=self._options(job.groups, job.kind == "reindex", job.tags),
                on_result=self._on_result,
            )
        except Exception as exc:  # reported on the job; the queue goes on with the next file
            log.exception("ingesting %s failed", job.path)
            self._set(job.id, state="failed", reason=f"{type(exc).__name__}: {exc}")
            return
        self._finish(job.id, results[0] if results else None)

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
            )
        else:
            reason = result.reason or result.status
            self._set(job_id, state="failed", outcome=result.status, reason=reason)

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
        )
        with self._lock:
            self._jobs[job.id] = job
            self._forget_old()
            self._lock.notify_all()
        return job

    def _set(self, job_id: str, **changes: object) -> None:
        if changes.get("state") not in (None, *ACTIVE):  # finished: nothing left to resume
            (self._notes / f"{job_id}.json").unlink(missing_ok=True)
        with self._lock:
            job = self._jobs.get(job_id)
            if job is not None:
                self._jobs[job_id] = replace(job, **changes)  # type: ignore[arg-type]
            self._lock.notify_all()

    def _forget_old(self) -> None:
        finished = [j for j in sorted(self._jobs.values(), key=lambda j: j.created) if not j.active]
        for job in finished[: max(0, len(self._jobs) - self._keep)]:
            del self._jobs[job.id]
