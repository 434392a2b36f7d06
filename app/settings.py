"""docent's settings: one validated object, read from DOCENT_* variables and `.env`."""

from __future__ import annotations

from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

SECRET_MASK = "**********"


def _lower(value: object) -> object:
    return value.lower() if isinstance(value, str) else value


class Settings(BaseSettings):
    """Every setting docent reads. Each field is documented in the README (a test checks it)."""

    model_config = SettingsConfigDict(
        env_prefix="DOCENT_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    data_dir: Path = Field(
        Path("data"),
        description="Folder for everything docent writes: models, the vector store, the catalog.",
    )

    # --- chat model -------------------------------------------------------------------------
    model: str = Field(
        "qwen2.5-7b-instruct",
        description="Name of the chat model in the catalog (`docent model list`).",
    )
    model_path: Path | None = Field(
        None, description="Path to any local GGUF file; overrides `model` when set."
    )
    hub_url: str = Field(
        "https://huggingface.co", description="Model hub that `docent model pull` downloads from."
    )
    hub_token: SecretStr | None = Field(
        None, description="Bearer token for gated hub repositories (optional)."
    )
    offline_fallback: bool = Field(
        True,
        description="When the hub cannot be reached, fall back to the offline packaged model.",
    )
    n_ctx: int = Field(4096, ge=512, description="Context window (tokens) given to llama.cpp.")
    n_threads: int | None = Field(
        None, ge=1, description="CPU threads for llama.cpp; default: all cores of this machine."
    )
    passage_cache_mb: int = Field(
        2048,
        ge=0,
        description="Disk space (MB, under DATA_DIR/passage-cache) for the computed cells of "
        "quoted passages and the system prompt, reused by later prompts so the model reads "
        "only what is new (least recently used out; about 28 KB per token for the 1.5B "
        "model). 0 turns the reuse off: every prompt is read whole.",
    )
    passage_reuse: Literal["exact", "moved"] = Field(
        "exact",
        description="exact: a passage's cells are reused only after the same passages in the "
        "same order (answers unchanged); moved: wherever the passage comes back, moved into "
        "place (faster on new questions, but the passage does not see the ones before it, "
        "and answers can change).",
    )
    passage_cache_ram_mb: int = Field(
        512, ge=0, description="Memory (MB) for the most recently used passage cells."
    )
    warm_start: bool = Field(
        True,
        description="When the server starts, read the system prompt, and compute the passage "
        "cells of a collection small enough for half the passage cache, so the first "
        "questions do not wait for them (in-process model only).",
    )
    max_answer_tokens: int = Field(
        384, ge=16, description="Most tokens the model may generate for one answer."
    )
    temperature: float = Field(
        0.1, ge=0.0, le=2.0, description="Sampling temperature for answers (0 = greedy)."
    )
    not_found_floor: float = Field(
        0.5,
        ge=0.0,
        le=1.0,
        description='The model may open an answer with the "not found" reply only when it '
        "gives that reply's first word at least this share of its probability (at "
        "temperature 1), not merely more than any one way of starting an answer; 0 leaves "
        "it to sampling. Ignored with DOCENT_LLM_URL.",
    )
    queue_timeout: float = Field(
        120.0,
        gt=0,
        description="Seconds a question waits in line for the in-process model (one answer "
        "at a time) before it is told the model is busy.",
    )
    max_queued_per_user: int = Field(
        3,
        ge=1,
        description="Answers one user may have waiting for the model or being written at once "
        "(each holds a worker thread); one more is refused with 429 and Retry-After.",
    )

    lora_path: Path | None = Field(
        None,
        description="A GGUF LoRA adapter (`docent tune train` writes one) that llama.cpp applies "
        "to the chat model; unset = the model alone. Ignored with DOCENT_LLM_URL.",
    )
    lora_scale: float = Field(
        1.0,
        ge=0.0,
        le=4.0,
        description="How strongly the LoRA adapter is applied (1 = as trained).",
    )

    llm_url: str | None = Field(
        None,
        description="Base URL of an OpenAI-compatible model server (e.g. llama-server's "
        "http://127.0.0.1:8080/v1); unset = run the GGUF in this process.",
    )
    llm_model: str = Field(
        "default", description="Model name sent to the OpenAI-compatible server."
    )
    llm_api_key: SecretStr | None = Field(
        None, description="API key for the OpenAI-compatible server (optional)."
    )

    # --- embeddings and search --------------------------------------------------------------
    embedding_model: str = Field(
        "all-MiniLM-L6-v2",
        description="Embedding model: `all-MiniLM-L6-v2` (packaged, offline) or a local "
        "sentence-transformers folder.",
    )
    embedding_batch_size: int = Field(32, ge=1, description="Texts embedded per batch.")
    vector_store: Literal["edge", "qdrant-local"] = Field(
        "edge",
        description="Embedded store when no Qdrant server is set: `edge` (Qdrant's in-process "
        "engine, indexed: ~13 ms per search at 100k chunks) or `qdrant-local` "
        "(qdrant-client's local mode, a NumPy scan: seconds at 100k).",
    )
    qdrant_url: str | None = Field(
        None,
        description="URL of a Qdrant server; unset = embedded local store under the data dir.",
    )
    qdrant_api_key: SecretStr | None = Field(None, description="API key for the Qdrant server.")
    qdrant_shards: int | None = Field(
        None,
        ge=1,
        description="Shards of the collection docent creates on a Qdrant server (spread over a "
        "cluster's nodes); unset = the server's default. Ignored without DOCENT_QDRANT_URL.",
    )
    qdrant_replication: int | None = Field(
        None,
        ge=1,
        description="Copies of each shard on a Qdrant cluster (2+ survives losing a node); "
        "unset = the server's default (1). Ignored without DOCENT_QDRANT_URL.",
    )
    qdrant_write_consistency: int | None = Field(
        None,
        ge=1,
        description="Shard copies that must confirm a write before it succeeds (at most "
        "DOCENT_QDRANT_REPLICATION); unset = the server's default (1).",
    )
    collection: str = Field("docent", description="Qdrant collection that holds the chunks.")
    top_k: int = Field(5, ge=1, le=50, description="Passages retrieved and shown to the model.")
    min_evidence: float = Field(
        0.25,
        ge=0.0,
        le=1.0,
        description='Refuse ("not found in the knowledge base") when no retrieved passage is '
        "this similar to the question; calibrated for all-MiniLM-L6-v2, 0 turns refusals off.",
    )
    min_subject_coverage: float = Field(
        0.5,
        ge=0.0,
        le=1.0,
        description="Decline before generating when the retrieved passages name less than "
        "this share of the question's distinctive terms (its subject); 0 turns it off.",
    )
    rare_name_below: float = Field(
        3.5,
        ge=0.0,
        le=8.0,
        description="Decline before generating when the question names something no document "
        "uses: a word the passages miss, that no readable document contains, and that has a "
        "digit or is rarer in English than this (Zipf scale of wordfreq; 3.5 is about 3 uses "
        "per billion words); 0 turns it off.",
    )
    min_cited_coverage: float = Field(
        0.4,
        ge=0.0,
        le=1.0,
        description="Decline a written answer whose cited passages name less than this share "
        "of the question's distinctive terms; 0 turns it off.",
    )
    min_supported: float = Field(
        0.0,
        ge=0.0,
        le=1.0,
        description="Decline a written answer when less than this share of its cited "
        "sentences is supported by the passage they cite; 0 turns it off.",
    )
    decline_unknown_options: bool = Field(
        True,
        description="Decline a written answer that names, as code in its sentences, a "
        "command-line option (`-c`, `--screenshot`), or a setting after a command the passages "
        "use (`fontsize` of `set fontsize 14`), that no passage shown to the model contains.",
    )
    require_citation: bool = Field(
        True,
        description="Decline a written answer that cites none of the passages for what it "
        "states: no marker, or markers only on lines that state nothing, such as a pointer to "
        "a source (docent first attributes uncited sentences that one passage clearly supports).",
    )
    fusion: Literal["rrf", "dbsf"] = Field(
        "dbsf",
        description="How a hybrid query fuses its dense and keyword halves inside Qdrant: "
        "`dbsf` (distribution-based score fusion) or `rrf` (reciprocal rank fusion).",
    )
    hybrid_prefetch: int = Field(
        100,
        ge=1,
        le=1000,
        description="Candidates each half of a hybrid query fetches before fusion (at least "
        "the passages asked for).",
    )
    reranker_path: Path | None = Field(
        None,
        description="Folder of a sentence-transformers cross-encoder that reorders the "
        "retrieved passages; unset = no reranking.",
    )
    rerank_candidates: int = Field(
        30, ge=1, le=200, description="Passages fetched and reranked per question."
    )
    max_passages_per_doc: int = Field(
        3,
        ge=0,
        le=50,
        description="Passages of one document shown before other documents get a turn "
        "(0 = no limit).",
    )

    # --- chunking ---------------------------------------------------------------------------
    chunk_tokens: int = Field(
        200,
        ge=32,
        description="Most embedder tokens in one chunk (clipped to the embedder's own limit).",
    )
    chunk_overlap: int = Field(
        30, ge=0, description="Tokens of the previous chunk repeated at the start of the next."
    )

    max_file_mb: int = Field(
        200, ge=1, description="Files larger than this (MB) are skipped by ingestion."
    )
    ingest_workers: int = Field(
        1, ge=0, le=16, description="Parser processes beside the embedder (0 = parse inline)."
    )
    parse_timeout: int = Field(
        600,
        ge=0,
        description="Seconds one file may take to parse before its parser process is stopped "
        "and the file reported as failed (0 = no limit; needs parser processes, "
        "DOCENT_INGEST_WORKERS >= 1).",
    )
    ocr: Literal["auto", "off", "force"] = Field(
        "auto",
        description="Read text from pictures: auto = picture files, pictures in Word and "
        "PowerPoint files, and PDF pages without a usable text layer; force = every PDF page "
        "too (a text layer is ignored); off = never (picture files are skipped).",
    )
    ocr_min_confidence: float = Field(
        0.5,
        ge=0,
        le=1,
        description="OCR lines read with less confidence are left out (and counted in the "
        "document's status).",
    )
    ocr_dpi: int = Field(
        150, ge=72, le=600, description="Resolution PDF pages are rendered at to be read by OCR."
    )
    ocr_max_megapixels: int = Field(
        50,
        ge=1,
        description="Largest picture (or rendered PDF page) OCR decodes; a larger one is "
        "refused as a likely decompression bomb.",
    )

    # --- web --------------------------------------------------------------------------------
    host: str = Field("127.0.0.1", description="Address the web app listens on.")
    port: int = Field(8000, ge=1, le=65535, description="Port the web app listens on.")
    metrics_public: bool = Field(
        False,
        description="Serve /metrics to anyone who can reach the app; off = only to clients on "
        "this machine (loopback) and admins.",
    )
    max_body_kb: int = Field(
        1024,
        ge=1,
        description="Largest request body (KB) a signed-in user may send outside uploads "
        "(forms, JSON questions, /v1 conversations); larger ones get 413 unread.",
    )
    max_anonymous_body_kb: int = Field(
        16,
        ge=1,
        description="Largest request body (KB) read from a client that is not signed in "
        "(the sign-in and invite forms); larger ones get 413 unread.",
    )
    allowed_hosts: str = Field(
        "",
        description="Host names (comma-separated) docent answers for besides localhost, "
        "127.0.0.1, ::1 and DOCENT_HOST (this machine's name when bound to all interfaces); "
        "`*` = any. Others get 400 (against DNS rebinding).",
    )
    api_docs: bool = Field(
        False,
        description="Serve the interactive API documentation at /docs and /redoc (Swagger UI "
        "and ReDoc, loaded from a CDN); off = /openapi.json only.",
    )
    ingest_demo: bool = Field(
        True, description="`make run` ingests the bundled demo documents when the store is empty."
    )

    # --- accounts ---------------------------------------------------------------------------
    database_url: str = Field(
        "",
        description="SQLAlchemy URL of the app database (users, sessions, …), e.g. "
        "postgresql+psycopg://user:pass@host/docent; empty = sqlite:///DATA_DIR/docent.db.",
    )
    session_hours: float = Field(
        12, gt=0, description="A sign-in lasts this many hours; then the user signs in again."
    )
    cookie_secure: bool = Field(
        False,
        description="Always mark the session cookie Secure (set it behind a TLS proxy); it is "
        "Secure anyway on https requests.",
    )
    invite_hours: float = Field(
        72, gt=0, description="An invite link stays valid this many hours (and works once)."
    )
    login_max_failures: int = Field(
        5, ge=1, description="Sign-in attempts allowed per username and address in the window."
    )
    login_max_per_address: int = Field(
        20, ge=1, description="Sign-in attempts allowed per address (any username) in the window."
    )
    login_max_per_username: int = Field(
        50, ge=1, description="Sign-in attempts allowed per username (any address) in the window."
    )
    login_window_minutes: float = Field(
        15, gt=0, description="The window (minutes) over which sign-in attempts are counted."
    )
    trusted_proxies: str = Field(
        "",
        description="Comma-separated addresses or CIDRs of reverse proxies whose "
        "X-Forwarded-For is believed; empty = none (the peer's address is the client's).",
    )

    # --- logging ----------------------------------------------------------------------------
    log_format: Literal["text", "json"] = Field(
        "text", description="Log lines as readable `text` or one JSON object per line (`json`)."
    )
    log_level: Annotated[Literal["debug", "info", "warning", "error"], BeforeValidator(_lower)] = (
        Field("info", description="Least severe log level written (case-insensitive).")
    )

    @model_validator(mode="after")
    def _check(self) -> Settings:
        if self.chunk_overlap >= self.chunk_tokens:
            raise ValueError(
                f"chunk_overlap ({self.chunk_overlap}) must be smaller than "
                f"chunk_tokens ({self.chunk_tokens})"
            )
        if self.model_path is not None and not self.model_path.is_file():
            raise ValueError(f"DOCENT_MODEL_PATH={self.model_path} is not a file")
        if self.lora_path is not None and not self.lora_path.is_file():
            raise ValueError(f"DOCENT_LORA_PATH={self.lora_path} is not a file")
        if self.reranker_path is not None and not self.reranker_path.is_dir():
            raise ValueError(f"DOCENT_RERANKER_PATH={self.reranker_path} is not a folder")
        try:
            self.trusted_networks  # noqa: B018 - parsed to be checked
        except ValueError as exc:
            raise ValueError(f"DOCENT_TRUSTED_PROXIES: {exc}") from exc
        return self

    @model_validator(mode="after")
    def _check_qdrant_layout(self) -> Settings:
        copies, confirm = self.qdrant_replication or 1, self.qdrant_write_consistency
        if confirm is not None and confirm > copies:
            raise ValueError(
                f"DOCENT_QDRANT_WRITE_CONSISTENCY ({confirm}) cannot exceed the copies of each "
                f"shard, DOCENT_QDRANT_REPLICATION ({copies}): no write could succeed"
            )
        return self

    @model_validator(mode="after")
    def _default_database_url(self) -> Settings:
        if not self.database_url:
            self.database_url = f"sqlite:///{self.data_dir / 'docent.db'}"
        return self

    # --- derived paths ----------------------------------------------------------------------
    @property
    def trusted_networks(self) -> tuple[IPv4Network | IPv6Network, ...]:
        """DOCENT_TRUSTED_PROXIES parsed (checked when the settings load)."""
        return tuple(
            ip_network(part.strip(), strict=False)
            for part in self.trusted_proxies.split(",")
            if part.strip()
        )

    @property
    def models_dir(self) -> Path:
        return self.data_dir / "models"

    @property
    def qdrant_path(self) -> Path:
        return self.data_dir / ("edge" if self.vector_store == "edge" else "qdrant")

    @property
    def prompts_dir(self) -> Path:
        """Admins' prompt overrides (same file names as the repo's prompts/)."""
        return self.data_dir / "prompts"

    @property
    def passage_cache_dir(self) -> Path:
        return self.data_dir / "passage-cache"

    @property
    def catalog_path(self) -> Path:
        return self.data_dir / "docent.sqlite3"

    @property
    def page_pictures_dir(self) -> Path:
        """Pages of PDFs and pictures rendered for the source panel (a cache)."""
        return self.data_dir / "page-pictures"

    def masked(self) -> dict[str, Any]:
        """The effective settings with secrets masked, for `docent config`."""
        out: dict[str, Any] = {}
        for name in type(self).model_fields:
            value = getattr(self, name)
            if isinstance(value, SecretStr):
                value = SECRET_MASK
            elif isinstance(value, Path):
                value = str(value)
            out[name] = value
        return out
