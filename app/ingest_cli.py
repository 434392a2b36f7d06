"""`docent ingest`: the pipeline with a progress bar and a summary table."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from app.services import ingest_options, load_embedder, open_store
from app.settings import Settings
from ingest.catalog import Catalog
from ingest.embed import Embedder
from ingest.pipeline import IngestResult, expand_paths, ingest_paths
from ingest.store import VectorStore


def run_ingest(
    settings: Settings, paths: list[Path], groups: tuple[str, ...], console: Console
) -> bool:
    """Ingest with a progress bar; True when some file failed."""
    missing = [p for p in paths if not p.exists()]
    for path in missing:
        console.print(f"[red]No such file or folder:[/red] {path}")
    embedder = load_embedder(settings)
    store = open_store(settings)
    catalog = Catalog(settings.catalog_path)
    try:
        results = ingest_with_progress(
            [p for p in paths if p.exists()], settings, groups, embedder, store, catalog, console
        )
    finally:
        store.close()
        catalog.close()
    print_summary(results, console)
    return bool(missing) or any(r.status == "failed" for r in results)


def ingest_with_progress(
    paths: list[Path],
    settings: Settings,
    groups: tuple[str, ...],
    embedder: Embedder,
    store: VectorStore,
    catalog: Catalog,
    console: Console,
) -> list[IngestResult]:
    files = list(expand_paths(paths))
    columns = (
        TextColumn("[bold]Ingesting"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("files · {task.fields[chunks]} chunks"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console) as progress:
        task = progress.add_task("ingest", total=len(files), chunks=0)
        chunks = 0

        def advance(result: IngestResult) -> None:
            nonlocal chunks
            chunks += result.chunks
            progress.update(task, advance=1, chunks=chunks)
            if result.status == "failed":
                progress.console.print(f"[red]failed[/red] {result.source}: {result.reason}")

        return ingest_paths(
            files,
            embedder=embedder,
            store=store,
            catalog=catalog,
            options=ingest_options(settings, groups),
            on_result=advance,
        )


def print_summary(results: list[IngestResult], console: Console) -> None:
    counts = Counter(r.status for r in results)
    table = Table("status", "files", "chunks")
    for status in ("new", "updated", "unchanged", "failed"):
        chunks = sum(r.chunks for r in results if r.status == status)
        table.add_row(status, str(counts.get(status, 0)), str(chunks))
    console.print(table)
