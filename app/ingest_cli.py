"""`docent ingest`: the pipeline with a progress bar and a summary table."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
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

from ingest.catalog import Catalog
from ingest.embed import Embedder
from ingest.pipeline import IngestOptions, IngestResult, expand_paths, ingest_paths
from ingest.store import VectorStore

STATUSES = ("new", "updated", "moved", "unchanged", "removed", "skipped", "failed")


@dataclass
class _Tally:
    pages: int = 0
    chunks: int = 0


def ingest_with_progress(
    paths: list[Path],
    options: IngestOptions,
    embedder: Embedder,
    store: VectorStore,
    catalog: Catalog,
    console: Console,
) -> list[IngestResult]:
    """Run the pipeline under a progress bar: files, pages, chunks, rate, ETA."""
    total = sum(1 for _ in expand_paths(paths))
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("files · {task.fields[pages]} pages · {task.fields[chunks]} chunks"),
        TextColumn("· {task.fields[rate]}"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
    )
    label = "Checking" if options.dry_run else "Ingesting"
    tally = _Tally()
    with Progress(*columns, console=console) as progress:
        task = progress.add_task(label, total=total, pages=0, chunks=0, rate="")

        def advance(result: IngestResult) -> None:
            if result.status in ("new", "updated"):
                tally.pages += result.pages or 0
                tally.chunks += result.chunks
            elapsed = progress.tasks[task].elapsed or 0.0
            rate = f"{tally.chunks / elapsed:.1f} chunks/s" if elapsed > 1 else ""
            step = 0 if result.status == "removed" else 1
            progress.update(task, advance=step, pages=tally.pages, chunks=tally.chunks, rate=rate)
            if result.status == "failed":
                progress.console.print(f"[red]failed[/red] {result.source}: {result.reason}")

        return ingest_paths(
            paths,
            embedder=embedder,
            store=store,
            catalog=catalog,
            options=options,
            on_result=advance,
        )


def print_summary(results: list[IngestResult], console: Console, dry_run: bool = False) -> None:
    counts: Counter[str] = Counter(r.status for r in results)
    title = "What ingestion would do (dry run)" if dry_run else "Ingestion summary"
    table = Table("status", "files", "chunks", title=title)
    for status in STATUSES:
        chunks = sum(r.chunks for r in results if r.status == status)
        table.add_row(status, str(counts.get(status, 0)), str(chunks))
    console.print(table)
    problems = [r for r in results if r.status in ("failed", "skipped")]
    if problems:
        reasons = Table("file", "status", "reason", title="Not ingested")
        for r in problems:
            reasons.add_row(r.source, r.status, r.reason or "")
        console.print(reasons)


def run_ingest(
    paths: list[Path],
    options: IngestOptions,
    embedder: Embedder,
    store: VectorStore,
    catalog: Catalog,
    console: Console,
) -> bool:
    """Ingest with progress and summary; True when some file failed or a path is missing."""
    missing = [p for p in paths if not p.exists()]
    for path in missing:
        console.print(f"[red]No such file or folder:[/red] {path}")
    present = [p for p in paths if p.exists()]
    results = ingest_with_progress(present, options, embedder, store, catalog, console)
    print_summary(results, console, options.dry_run)
    return bool(missing) or any(r.status == "failed" for r in results)
