"""What the upload-queue tests build their queues on: each `queue()` is another worker (an app
process, or the same one restarted) on one app database, store and catalog."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.accounts import Accounts
from app.documents.uploads import UploadQueue
from ingest.catalog import DocumentCatalog
from ingest.pipeline import IngestOptions
from ingest.store import QdrantStore
from tests.fakes import FakeEmbedder


def small_options(groups: tuple[str, ...], force: bool, tags: tuple[str, ...]) -> IngestOptions:
    """Small chunks, parsed in this process."""
    return IngestOptions(80, 10, groups, force=force, tags=tags, workers=0)


@dataclass
class Parts:
    folder: Path
    accounts: Accounts
    embedder: FakeEmbedder
    store: QdrantStore
    catalog: DocumentCatalog

    def queue(self, **settings: Any) -> UploadQueue:
        """A queue on these parts; `settings`: UploadQueue's own (lease, poll, worker…)."""
        return UploadQueue(
            self.folder,
            engine=self.accounts.engine,
            embedder=self.embedder,
            store=self.store,
            catalog=self.catalog,
            options=small_options,
            **settings,
        )
