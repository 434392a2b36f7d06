"""What the worker loop of `app.documents.uploads` runs with: the embedder that reports when a
file's embedding starts, the lease renewal, how claimed jobs are grouped into pipeline runs,
which job a pipeline result is for, and a batch's `sync` step.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

from app.documents.jobs import JobTable, UploadJob
from ingest.catalog import DocumentCatalog
from ingest.embed import Embedder
from ingest.pipeline import IngestResult, remove_document
from ingest.planning import vanished
from ingest.store import VectorStore

log = logging.getLogger(__name__)
REMOVED = "file no longer exists"


class Watched:
    """The app's embedder, telling the queue when the pipeline starts embedding a file."""

    def __init__(self, inner: Embedder, started: Callable[[], None]) -> None:
        self._inner, self._started = inner, started
        self.name, self.dimension, self.max_tokens = inner.name, inner.dimension, inner.max_tokens

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        self._started()
        return self._inner.embed(texts)

    def count_tokens(self, text: str) -> int:
        return self._inner.count_tokens(text)


class Renewing:
    """While a worker ingests, its hold on its jobs is renewed (a third of the lease apart)."""

    def __init__(self, table: JobTable, worker: str, lease: float) -> None:
        self.table, self.worker, self.lease = table, worker, lease
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._renew, name="uploads-lease", daemon=True)

    def __enter__(self) -> Renewing:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(10)

    def _renew(self) -> None:
        while not self._stop.wait(self.lease / 3):
            try:
                self.table.renew(self.worker, self.lease)
            except Exception:  # the database away for a moment: try again next time
                log.exception("renewing the upload worker's lease failed")


def is_source(job: UploadJob, source: str) -> bool:
    """Whether a pipeline result about `source` is the one for `job`'s file (the pipeline
    names a file by its resolved path, a link by where the link itself is)."""
    if job.path is None:
        return False
    path = job.path
    return source in (str(path), str(path.resolve()), str(path.parent.resolve() / path.name))


def runs(jobs: list[UploadJob]) -> list[list[UploadJob]]:
    """Jobs with the same options together (first come first); a file twice goes in two runs;
    a batch's sync step alone."""
    batches: list[tuple[tuple[object, ...], list[UploadJob]]] = []
    for job in jobs:
        key = _options_key(job)
        for other_key, batch in batches:
            if other_key == key and job.kind != "sync" and all(j.path != job.path for j in batch):
                batch.append(job)
                break
        else:
            batches.append((key, [job]))
    return [batch for _, batch in batches]


def _options_key(job: UploadJob) -> tuple[object, ...]:
    listed = job.kind in ("ingest", "sync")
    force = job.kind == "reindex" or job.force
    return (listed, force, job.groups, job.tags, job.roots, job.workers)


def removed_under(
    roots: Sequence[str], store: VectorStore, catalog: DocumentCatalog
) -> list[IngestResult]:
    """A batch's sync step: documents under `roots` whose files are gone are removed."""
    results = []
    for record in vanished(catalog, [Path(root) for root in roots]):
        remove_document(record.doc_id, store, catalog)
        results.append(IngestResult(record.source, "removed", reason=REMOVED))
    return results
