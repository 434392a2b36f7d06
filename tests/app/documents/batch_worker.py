"""One ingestion worker process for test_postgres_batch_processes.py: a `JobWorker` on the
shared app database (its catalog there too) running one batch, printing each file it ingested.

    python -m tests.app.documents.batch_worker URL DATA_DIR BATCH [--stall-at N --flag PATH]

`--stall-at N`: the Nth embedding call writes PATH and never returns (the process is busy in
the middle of a file, as a real worker is when it is killed).
"""

from __future__ import annotations

import argparse
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from app.accounts.db import make_engine
from app.documents.batches import follow
from app.documents.catalog import DatabaseCatalog
from app.documents.worker import JobWorker
from ingest.pipeline import IngestResult
from ingest.store import QdrantStore
from tests.app.documents.uploading import small_options
from tests.fakes import FakeEmbedder

LEASE = 2.0  # seconds: a killed worker's file is taken over soon after


class PacedEmbedder(FakeEmbedder):
    """A tenth of a second a call (so two workers share a batch); the `stall_at`th call waits
    for ever."""

    def __init__(self, stall_at: int | None, flag: Path | None) -> None:
        super().__init__()
        self.stall_at, self.flag = stall_at, flag

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        if self.stall_at is not None and len(self.batches) + 1 == self.stall_at:
            if self.flag is not None:
                self.flag.write_text("stalled")
            threading.Event().wait()
        time.sleep(0.1)
        return super().embed(texts)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("batch")
    parser.add_argument("--stall-at", type=int, default=None)
    parser.add_argument("--flag", type=Path, default=None)
    args = parser.parse_args()
    engine = make_engine(args.url)
    store = QdrantStore("test", path=None)  # each process its own: the catalog is shared

    def printed(result: IngestResult) -> None:
        print("ingested", result.source, result.status, flush=True)

    worker = JobWorker(
        engine=engine,
        embedder=PacedEmbedder(args.stall_at, args.flag),
        store=store,
        catalog=DatabaseCatalog(engine, args.data_dir),
        options=small_options,
        on_result=printed,
        lease=LEASE,
        poll=0.1,
        claim=1,
        batch=args.batch,
    )
    worker.start()
    follow(worker.table, args.batch, poll=0.1, timeout=120)
    worker.close()


if __name__ == "__main__":
    main()
