"""Passages and services used across app tests."""

from __future__ import annotations

from pathlib import Path

from app.accounts import Accounts
from app.answering.answer import Answerer, AnswerOptions
from app.generation.prompting import Prompts
from app.services import Services, open_catalog, open_store
from app.settings import Settings
from ingest.pipeline import IngestOptions, ingest_paths
from ingest.types import Passage
from tests.fakes import FakeEmbedder, FakeGenerator


def passage(
    text: str,
    title: str = "Handbook",
    *,
    doc: str = "doc-1",
    index: int = 0,
    page: int | None = None,
) -> Passage:
    return Passage(
        point_id=f"{doc}-{index}",
        doc_id=doc,
        chunk_index=index,
        text=text,
        title=title,
        source=f"/docs/{doc}.md",
        headings=(title, "Section"),
        page_start=page,
        page_end=page,
        start=0,
        end=len(text),
        score=0.5,
    )


REMOTE = passage("Employees may work remotely up to three days per week.", "Employee Handbook")
PER_DIEM = passage(
    "The per-diem for domestic travel is 45 EUR.", "Expenses Policy", doc="doc-2", page=3
)


def ingest_remote_work(services: Services, folder: Path) -> Path:
    """One small handbook page about remote work, ingested through the real pipeline."""
    text = "# Remote work\n\nEmployees may work remotely up to three days per week.\n"
    return ingest_text(services, folder / "remote.md", text)


def ingest_text(services: Services, doc: Path, text: str) -> Path:
    """`text` written to `doc` and ingested through the real pipeline with the services'
    options."""
    doc.write_text(text)
    ingest_paths(
        [doc],
        embedder=services.embedder,
        store=services.store,
        catalog=services.catalog,
        options=services.ingest_options,
    )
    return doc


def services_on_disk(settings: Settings, accounts: Accounts) -> Services:
    """Fakes for the models, with the store and catalog `settings` name (the embedded store on
    disk, holding its lock, as `docent serve` has it); close `store` and `catalog` after."""
    store, embedder = open_store(settings), FakeEmbedder()
    catalog = open_catalog(settings, accounts.engine)
    store.ensure_collection(embedder.dimension)
    generator = FakeGenerator()
    return Services(
        embedder=embedder,
        store=store,
        catalog=catalog,
        generator=generator,
        answerer=Answerer(embedder, store, generator, Prompts(), AnswerOptions()),
        ingest_options=IngestOptions(),
        model_title="Fake Model",
        accounts=accounts,
    )
