"""Build the heavy parts once (embedder, vector store, catalog, chat model) from settings."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from app.accounts import Accounts, open_accounts
from app.accounts.db import make_engine
from app.answering.answer import Answerer, AnswerOptions
from app.answering.grounding import GroundingOptions
from app.answering.rerank import Reranker
from app.answering.retrieve import RetrievalOptions
from app.conversations.store import Conversations
from app.conversations.stored_answer import StoredAccess
from app.generation.generator import Generator, LlamaCppGenerator
from app.generation.passage_cache import PassageCache
from app.generation.prompting import Prompts
from app.private import private_dir
from app.settings import Settings
from ingest.access import Access
from ingest.catalog import DocumentCatalog
from ingest.embed import Embedder, open_embedder
from ingest.ocr import OcrOptions
from ingest.pipeline import IngestOptions
from ingest.store import QdrantStore, ServerLayout, VectorStore

log = logging.getLogger(__name__)


class ModelNotReady(RuntimeError):
    """The configured chat model is not on this machine yet."""


@dataclass(frozen=True)
class ChatModelChoice:
    title: str  # shown in the UI: which model answers
    path: Path
    note: str | None = None  # e.g. why a fallback answers instead


@dataclass
class Services:
    embedder: Embedder
    store: VectorStore
    catalog: DocumentCatalog
    generator: Generator
    answerer: Answerer
    ingest_options: IngestOptions
    model_title: str
    accounts: Accounts  # users, sessions, API tokens (the app database)
    # users' conversations, answers and feedback; built on the accounts' database if not given
    conversations: Conversations = None  # type: ignore[assignment]

    def __post_init__(self) -> None:
        if self.conversations is None:
            self.conversations = Conversations(self.accounts.engine)

    def stored_access(self, access: Access) -> StoredAccess:
        """What of stored answers a reader with `access` may see now (the catalog's groups)."""
        return StoredAccess(self.catalog.searchable_groups, access)

    def close(self) -> None:
        self.store.close()
        self.catalog.close()
        self.accounts.close()


def choose_chat_model(settings: Settings) -> ChatModelChoice:
    """The GGUF to load: DOCENT_MODEL_PATH, the configured model, or the offline fallback."""
    from app.models import OFFLINE_MODEL, get_spec, is_available, model_path

    if settings.model_path is not None:
        return ChatModelChoice(settings.model_path.name, settings.model_path)
    spec = get_spec(settings.model)
    if is_available(spec, settings.models_dir):
        return ChatModelChoice(spec.title, model_path(spec, settings.models_dir))
    offline = get_spec(OFFLINE_MODEL)
    if settings.offline_fallback and is_available(offline, settings.models_dir):
        note = f"{spec.title} is not downloaded; answering with the offline model instead."
        return ChatModelChoice(offline.title, model_path(offline, settings.models_dir), note)
    raise ModelNotReady(
        f"The chat model {spec.name!r} is not on this machine. "
        f"Run `docent model pull {spec.name}` (or `make run`), or set DOCENT_MODEL_PATH."
    )


def open_store(settings: Settings) -> VectorStore:
    """A Qdrant server when DOCENT_QDRANT_URL is set, else the embedded engine chosen."""
    api_key = settings.qdrant_api_key.get_secret_value() if settings.qdrant_api_key else None
    if settings.qdrant_url:
        layout = ServerLayout(
            settings.qdrant_shards, settings.qdrant_replication, settings.qdrant_write_consistency
        )
        url = settings.qdrant_url
        return QdrantStore(settings.collection, url=url, api_key=api_key, layout=layout)
    if settings.vector_store == "edge":
        from ingest.edge_store import EdgeStore

        return EdgeStore(settings.collection, path=settings.qdrant_path)
    return QdrantStore(settings.collection, path=settings.qdrant_path)


def open_app_database(settings: Settings) -> Engine:
    """An engine on DOCENT_DATABASE_URL (the job table and catalog of a CLI command)."""
    if settings.database_url.startswith("sqlite:///"):
        private_dir(settings.data_dir)
    return make_engine(settings.database_url)


def open_catalog(settings: Settings, engine: Engine) -> DocumentCatalog:
    """The document catalog in the app database; the SQLite catalog an older docent kept in
    DATA_DIR is imported into it once (nothing is ingested again)."""
    from app.documents.catalog import DatabaseCatalog

    catalog = DatabaseCatalog(engine, settings.data_dir)
    catalog.import_sqlite(settings.catalog_path)
    return catalog


def load_embedder(settings: Settings) -> Embedder:
    """DOCENT_EMBEDDING_MODEL: a packaged model by name (unpacked under the models dir if it
    must be) or a local folder."""
    return open_embedder(
        settings.embedding_model,
        settings.models_dir / "embedders",
        batch_size=settings.embedding_batch_size,
    )


def ingest_options(settings: Settings, groups: tuple[str, ...] = (), **extra: Any) -> IngestOptions:
    """Chunking from the settings; `extra` sets per-run options (workers, sync, dry_run)."""
    defaults: dict[str, Any] = {
        "workers": settings.ingest_workers,
        "max_file_bytes": settings.max_file_mb << 20,
        "parse_timeout": settings.parse_timeout or None,
        "ocr": ocr_options(settings),
    }
    return IngestOptions(
        settings.chunk_tokens, settings.chunk_overlap, groups, **(defaults | extra)
    )


def ocr_options(settings: Settings) -> OcrOptions:
    """How parsers read pictures; the cores are shared among the parser processes."""
    return OcrOptions(
        mode=settings.ocr,
        min_confidence=settings.ocr_min_confidence,
        dpi=settings.ocr_dpi,
        max_pixels=settings.ocr_max_megapixels * 1_000_000,
        threads=max(1, (os.cpu_count() or 1) // max(1, settings.ingest_workers)),
    )


def load_reranker(settings: Settings) -> Reranker | None:
    """The cross-encoder in DOCENT_RERANKER_PATH; None when none is configured."""
    if settings.reranker_path is None:
        return None
    from app.answering.rerank import CrossEncoderReranker

    return CrossEncoderReranker(settings.reranker_path)


def retrieval_options(settings: Settings, reranker: Reranker | None = None) -> RetrievalOptions:
    """Fusion, prefetch depth, reranking and diversity from the settings."""
    return RetrievalOptions(
        fusion=settings.fusion,
        prefetch=settings.hybrid_prefetch,
        reranker=reranker,
        rerank_candidates=settings.rerank_candidates,
        max_per_document=settings.max_passages_per_doc,
    )


def answer_options(settings: Settings) -> AnswerOptions:
    return AnswerOptions(
        settings.top_k,
        settings.max_answer_tokens,
        settings.temperature,
        settings.not_found_floor,
        settings.min_evidence,
        queue_timeout=settings.queue_timeout,
        grounding=GroundingOptions(
            min_subject_coverage=settings.min_subject_coverage,
            rare_name_below=settings.rare_name_below,
            min_cited_coverage=settings.min_cited_coverage,
            min_supported=settings.min_supported,
            unknown_options=settings.decline_unknown_options,
            require_citation=settings.require_citation,
        ),
    )


def load_generator(settings: Settings) -> Generator:
    """A model server when DOCENT_LLM_URL is set; otherwise the GGUF in this process."""
    if settings.llm_url:
        from app.generation.http_server import OpenAIGenerator

        key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else None
        return OpenAIGenerator(
            settings.llm_url, model=settings.llm_model, context_length=settings.n_ctx, api_key=key
        )
    choice = choose_chat_model(settings)
    if choice.note:
        log.warning(choice.note)
    if settings.lora_path is not None:
        check_adapter(settings.lora_path, choice.path)
    return LlamaCppGenerator(
        choice.path,
        model_id=choice.title,
        n_ctx=settings.n_ctx,
        n_threads=settings.n_threads,
        lora_path=settings.lora_path,
        lora_scale=settings.lora_scale,
        passage_cache=passage_cache(settings),
        move_passages=settings.passage_reuse == "moved",
    )


def passage_cache(settings: Settings) -> PassageCache | None:
    """Where computed passage cells are kept (None when DOCENT_PASSAGE_CACHE_MB is 0)."""
    if settings.passage_cache_mb <= 0:
        return None
    return PassageCache(
        settings.passage_cache_dir,
        disk_bytes=settings.passage_cache_mb * 1024 * 1024,
        ram_bytes=settings.passage_cache_ram_mb * 1024 * 1024,
    )


def check_adapter(adapter: Path, model: Path) -> None:
    """Refuse (ModelNotReady, with the reason) an adapter that does not fit the chat model."""
    if problem := adapter_problem(adapter, model):
        raise ModelNotReady(f"DOCENT_LORA_PATH: {problem}")


def adapter_problem(adapter: Path, model: Path) -> str | None:
    """Why the adapter does not fit the chat model (another model, not an adapter), or None."""
    from app.tuning.gguf_adapter import AdapterError, BaseModel, check_fits, read_adapter

    try:
        check_fits(read_adapter(adapter), BaseModel.read(model))
    except AdapterError as exc:
        return str(exc)
    return None


def _rewriter(generator: Generator) -> Generator | None:
    """Follow-up rewrites that put the answering context's cached prompt back afterwards, so
    the follow-up's answer reuses the previous one's (a model server keeps its own cache: None)."""
    return generator.aside() if isinstance(generator, LlamaCppGenerator) else None


def build_services(settings: Settings) -> Services:
    """Load everything; slow (models), so called once by the CLI command or the app lifespan."""
    private_dir(settings.data_dir)
    generator = load_generator(settings)
    embedder = load_embedder(settings)
    store = open_store(settings)
    store.ensure_collection(embedder.dimension)
    accounts = open_accounts(settings)
    catalog = open_catalog(settings, accounts.engine)
    answerer = Answerer(
        embedder,
        store,
        generator,
        Prompts(overrides=settings.prompts_dir),
        answer_options(settings),
        catalog.live_versions,
        retrieval_options(settings, load_reranker(settings)),
        rewriter=_rewriter(generator),
    )
    return Services(
        embedder=embedder,
        store=store,
        catalog=catalog,
        generator=generator,
        answerer=answerer,
        ingest_options=ingest_options(settings),
        model_title=generator.model_id,
        accounts=accounts,
    )
