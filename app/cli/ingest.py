"""`docent ingest`: a batch of job rows run by the worker loop, with a progress bar and a summary
table (a dry run changes nothing: it runs the pipeline's planning here, no job)."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from pathlib import Path

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text
from sqlalchemy import Engine

from app.documents.batches import BatchRequest, cancel, follow, submit
from app.documents.jobs import JobTable
from app.documents.worker import JobWorker
from ingest.catalog import DocumentCatalog
from ingest.embed import Embedder
from ingest.pipeline import IngestOptions, IngestResult, expand_paths, ingest_paths
from ingest.planning import SETTINGS_CHANGED
from ingest.store import VectorStore

STATUSES = ("new", "updated", "moved", "unchanged", "removed", "skipped", "failed")
CLAIM = 64  # files the command's own worker takes at once (one pipeline run, one parser pool)


class IngestProgress:
    """The progress bar of an ingestion: files, pages, chunks, rate, ETA."""

    def __init__(self, console: Console, label: str, total: int) -> None:
        columns = (
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("files · {task.fields[pages]} pages · {task.fields[chunks]} chunks"),
            TextColumn("{task.fields[rate]}"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
        )
        self._progress = Progress(*columns, console=console)
        self._task = self._progress.add_task(label, total=total, pages=0, chunks=0, rate="")
        self._pages = self._chunks = 0

    def __enter__(self) -> IngestProgress:
        self._progress.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._progress.stop()

    def advance(self, result: IngestResult) -> None:
        if result.status in ("new", "updated"):
            self._pages += result.pages or 0
            self._chunks += result.chunks
        elapsed = self._progress.tasks[0].elapsed or 0.0
        rate = f"· {self._chunks / elapsed:.1f} chunks/s" if elapsed > 1 and self._chunks else ""
        self._progress.update(
            self._task,
            advance=0 if result.status == "removed" else 1,
            pages=self._pages,
            chunks=self._chunks,
            rate=rate,
        )
        if result.status == "failed":
            line = Text.assemble(("failed ", "red"), shown(result.source), f": {result.reason}")
            self._progress.console.print(line)


def shown(name: str) -> Text:
    """A file name as inert text: rich markup stays literal, control characters are escaped."""
    return Text(
        "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in name)
    )


def ingest_with_progress(
    paths: list[Path],
    options: IngestOptions,
    embedder: Embedder,
    store: VectorStore,
    catalog: DocumentCatalog,
    console: Console,
) -> list[IngestResult]:
    total = sum(1 for _ in expand_paths(paths))
    with IngestProgress(console, _label(options), total) as bar:
        return ingest_paths(
            paths,
            embedder=embedder,
            store=store,
            catalog=catalog,
            options=options,
            on_result=bar.advance,
        )


def _label(options: IngestOptions) -> str:
    return "Checking" if options.dry_run else "Ingesting"


def print_summary(results: list[IngestResult], console: Console, dry_run: bool = False) -> None:
    counts: Counter[str] = Counter(r.status for r in results)
    title = "What ingestion would do (dry run)" if dry_run else "Ingestion summary"
    table = Table("status", "files", "chunks", title=title)
    for status in STATUSES:
        chunks = sum(r.chunks for r in results if r.status == status)
        table.add_row(status, str(counts.get(status, 0)), str(chunks))
    console.print(table)
    resettled = sum(1 for r in results if r.reason == SETTINGS_CHANGED)
    if resettled:
        console.print(
            f"{resettled} unchanged files were embedded again because the embedding model or "
            "the chunk settings changed since they were ingested."
        )
    problems = [r for r in results if r.status in ("failed", "skipped")]
    if problems:
        reasons = Table("file", "status", "reason", title="Not ingested")
        for r in problems:
            reasons.add_row(shown(r.source), r.status, shown(r.reason or ""))
        console.print(reasons)
    noted = [r for r in results if r.notes and r.status in ("new", "updated")]
    if noted:
        notes = Table("file", "note", title="Ingested, with notes")
        for r in noted:
            notes.add_row(shown(r.source), shown("; ".join(r.notes)))
        console.print(notes)


def run_ingest(
    paths: list[Path],
    options: IngestOptions,
    embedder: Embedder,
    store: VectorStore,
    catalog: DocumentCatalog,
    console: Console,
    engine: Engine,
) -> bool:
    """Ingest with progress and summary; True when some file failed or a path is missing.
    The files are a batch of job rows in the app database (`engine`), run by a worker of this
    process (other workers sharing the database and store may take some of them)."""
    present = existing_paths(paths, console)
    if options.dry_run:
        results = ingest_with_progress(present, options, embedder, store, catalog, console)
    else:
        results = run_batch(present, options, embedder, store, catalog, console, engine)
    print_summary(results, console, options.dry_run)
    return len(present) < len(paths) or any(r.status == "failed" for r in results)


def run_batch(
    paths: list[Path],
    options: IngestOptions,
    embedder: Embedder,
    store: VectorStore,
    catalog: DocumentCatalog,
    console: Console,
    engine: Engine,
) -> list[IngestResult]:
    """Queue `paths` as a batch and run it with a worker of this process, following its rows
    into the progress bar. Ctrl-C fails the files not started yet (the one being ingested is
    left to the crash-safe write order)."""
    table = JobTable(engine)
    request = BatchRequest(
        tuple(paths), options.groups, options.tags, options.sync, options.workers, options.force
    )
    batch = submit(table, request)

    def batch_options(groups: tuple[str, ...], force: bool, tags: tuple[str, ...]) -> IngestOptions:
        return replace(options, groups=groups, force=force, tags=tags)

    worker = JobWorker(
        engine=engine,
        embedder=embedder,
        store=store,
        catalog=catalog,
        options=batch_options,
        batch=batch.id,
        poll=0.1,
        claim=CLAIM,
    )
    worker.start()
    try:
        with IngestProgress(console, _label(options), batch.files) as bar:
            return follow(table, batch.id, bar.advance, alive=worker.running)
    except KeyboardInterrupt:
        cancel(table, batch.id)
        raise
    finally:
        worker.close()


def existing_paths(paths: list[Path], console: Console) -> list[Path]:
    for path in paths:
        if not path.exists():
            console.print(Text.assemble(("No such file or folder: ", "red"), shown(str(path))))
    return [p for p in paths if p.exists()]
