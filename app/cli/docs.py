"""`docent docs ...`: look at, remove and re-index documents in the catalog."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from ingest.catalog import DocumentCatalog, DocumentRecord
from ingest.store import VectorStore


def list_table(catalog: DocumentCatalog) -> Table:
    table = Table("id", "source", "title", "pages", "chunks", "groups", "status", "updated")
    for r in catalog.all():
        table.add_row(
            r.doc_id[:8],
            r.source,
            r.title,
            "" if r.pages is None else str(r.pages),
            str(r.chunk_count),
            ", ".join(r.groups),
            r.status_text,
            r.updated_at,
        )
    return table


def show(record: DocumentRecord, store: VectorStore, console: Console) -> None:
    for label, value in (
        ("id", record.doc_id),
        ("source", record.source),
        ("title", record.title),
        ("status", record.status_text),
        ("pages", record.pages),
        ("chunks", record.chunk_count),
        ("groups", ", ".join(record.groups) or "(everyone)"),
        ("sha256", record.content_hash),
        ("pipeline", record.pipeline),
        ("created", record.created_at),
        ("updated", record.updated_at),
    ):
        console.print(f"[bold]{label:>9}[/bold]  {'' if value is None else value}", highlight=False)
    chunks = store.document_chunks(record.doc_id, record.version) if record.version else []
    table = Table("#", "where", "offsets", "text", title=f"{len(chunks)} chunks")
    for p in chunks:
        preview = " ".join(p.text.split())
        table.add_row(
            str(p.chunk_index),
            p.location,
            f"{p.start}–{p.end}",
            preview[:120] + ("…" if len(preview) > 120 else ""),
        )
    console.print(table)
