"""Real services (SmolLM2 in llama.cpp, MiniLM, Qdrant on disk) over a few documents."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from app.services import Services, build_services, ingest_options
from app.settings import Settings
from ingest.pipeline import ingest_paths


def real_services(
    data_dir: Path,
    documents: Sequence[Path],
    model_path: Path | None = None,
    grounding_checks: bool = True,
) -> Services:
    """Services with the tiny test model (or the GGUF at `model_path`), greedy, the
    `documents` ingested. `grounding_checks=False` shows whatever the model wrote (the tiny
    model seldom cites, so its answers are withheld: tests of the wire format turn it off)."""
    settings = Settings(
        data_dir=data_dir,
        model="smollm2-135m",
        model_path=model_path,
        temperature=0.0,
        n_ctx=2048,
    )
    if not grounding_checks:
        settings = settings.model_copy(
            update={"min_cited_coverage": 0.0, "require_citation": False}
        )
    services = build_services(settings)
    results = ingest_paths(
        documents,
        embedder=services.embedder,
        store=services.store,
        catalog=services.catalog,
        options=ingest_options(settings),
    )
    assert all(r.status == "new" for r in results), results
    return services
