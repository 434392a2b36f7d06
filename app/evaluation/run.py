"""`docent eval retrieval`: a BEIR folder or a gold file in, an `EvalReport` out.

- A BEIR folder is indexed (once) into its own collection (see `index.collection_name`, e.g.
  `eval-scifact-all-MiniLM-L6-v2-200-30-s2c2`): in the Qdrant server when DOCENT_QDRANT_URL is
  set, else in an embedded store at `<data dir>/eval-store` (never the main store, which the
  running app may hold open). The manifest that lets later runs skip indexing is
  `<data dir>/eval/<collection>.json`.
- A gold file (`.jsonl`, see `app.evaluation.gold`) runs against the main collection and catalog.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console

from app.answering.retrieve import LiveVersions
from app.evaluation.beir import BeirDataset, DatasetError, load_beir
from app.evaluation.gold import load_gold
from app.evaluation.index import IndexOptions, collection_name, index_corpus
from app.evaluation.progress import ProgressBar
from app.evaluation.report import EvalReport
from app.evaluation.runner import MODES, QueryProgress, Reranker, evaluate
from app.services import retrieval_options
from app.settings import Settings
from ingest.embed import Embedder
from ingest.store import QdrantStore, VectorStore

EVAL_STORE = "eval-store"
MANIFESTS = "eval"


def eval_retrieval(
    source: Path,
    settings: Settings,
    embedder: Embedder,
    *,
    modes: Sequence[str] = MODES,
    k: int = 10,
    depth: int = 100,
    reranker: Reranker | None = None,
    console: Console | None = None,
) -> EvalReport:
    """Evaluate retrieval on `source`; progress bars go to `console` (none when None)."""
    run = _Run(settings, embedder, tuple(modes), k, depth, reranker, console)
    if not source.exists():
        raise DatasetError(f"{source}: no such folder or file")
    if source.is_dir():
        return run.beir(source)
    if source.suffix.lower() == ".jsonl":
        return run.gold(source)
    raise DatasetError(f"{source}: expected a BEIR folder or a .jsonl gold file")


def eval_store(settings: Settings, collection: str) -> QdrantStore:
    """The store for benchmark collections: the server's, else an embedded one of its own."""
    if settings.qdrant_url:
        key = settings.qdrant_api_key.get_secret_value() if settings.qdrant_api_key else None
        return QdrantStore(collection, url=settings.qdrant_url, api_key=key)
    return QdrantStore(collection, path=settings.data_dir / EVAL_STORE)


@dataclass(frozen=True)
class _Run:
    settings: Settings
    embedder: Embedder
    modes: tuple[str, ...]
    k: int
    depth: int
    reranker: Reranker | None
    console: Console | None

    def beir(self, source: Path) -> EvalReport:
        dataset = load_beir(source)
        options = IndexOptions(self.settings.chunk_tokens, self.settings.chunk_overlap)
        name = collection_name(dataset.name, self.embedder.name, options)
        store = eval_store(self.settings, name)
        try:
            self._index(dataset, store, self.settings.data_dir / MANIFESTS / f"{name}.json")
            return self._evaluate(dataset, store, None)
        finally:
            store.close()

    def gold(self, source: Path) -> EvalReport:
        from app.services import open_app_database, open_catalog, open_store

        engine = open_app_database(self.settings)
        catalog = open_catalog(self.settings, engine)
        try:
            dataset = load_gold(source, catalog.all())
            store = open_store(self.settings)
            try:
                return self._evaluate(dataset, store, catalog.live_versions)
            finally:
                store.close()
        finally:
            catalog.close()
            engine.dispose()

    def _index(self, dataset: BeirDataset, store: QdrantStore, manifest: Path) -> None:
        options = IndexOptions(self.settings.chunk_tokens, self.settings.chunk_overlap)
        if self.console is None:
            index_corpus(dataset, self.embedder, store, manifest, options)
            return
        with ProgressBar(
            self.console, f"Indexing {dataset.name}", len(dataset.corpus), "docs"
        ) as bar:
            result = index_corpus(dataset, self.embedder, store, manifest, options, bar.index_step)
        verb = "Reused" if result.reused else "Indexed"
        self.console.print(
            f"{verb} {result.collection}: {result.documents} documents, {result.chunks} chunks"
        )

    def _evaluate(
        self, dataset: BeirDataset, store: VectorStore, live: LiveVersions | None
    ) -> EvalReport:
        def run(step: QueryProgress | None) -> EvalReport:
            return evaluate(
                dataset,
                self.embedder,
                store,
                self.modes,
                self.k,
                self.depth,
                reranker=self.reranker,
                live_versions=live,
                progress=step,
                retrieval=retrieval_options(self.settings),
            )

        if self.console is None:
            return run(None)
        total = len(dataset.queries) * len(self.modes)  # the callback corrects it
        with ProgressBar(self.console, "Searching", total, "queries") as bar:
            return run(bar.query_step)
