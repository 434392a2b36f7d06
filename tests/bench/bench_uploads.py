"""Uploads through a real uvicorn: receiving (streamed to disk, limit applied while reading) and
the upload queue's time per file with and without parser processes.

    .venv/bin/python -m tests.bench.bench_uploads [--accepted-mb 90] [--files 3]

The app runs with the test fakes for the embedder and the model (the cost measured is the web
app's and the parser's, not the embedding model's) and a 100 MB file limit.
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from argon2 import PasswordHasher
from fastapi import FastAPI

from app.accounts import Passwords, open_accounts
from app.answering.answer import Answerer, AnswerOptions
from app.documents.uploads import UploadQueue
from app.generation.prompting import Prompts
from app.services import Services
from app.settings import Settings
from app.web import create_app
from ingest.catalog import Catalog
from ingest.pipeline import IngestOptions
from ingest.store import QdrantStore
from tests.fakes import FakeEmbedder, FakeGenerator

LIMIT_MB = 100
DEMO = Path(__file__).resolve().parents[2] / "app" / "demo" / "docs"


def rss_mb() -> float:
    status = Path("/proc/self/status").read_text()
    return int(status.split("VmRSS:")[1].split()[0]) / 1024


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Running:
    """docent on a free port with fake models; `token` is an admin's API token."""

    def __init__(self, folder: Path, workers: int) -> None:
        settings = Settings(data_dir=folder, max_file_mb=LIMIT_MB, ingest_workers=workers)
        embedder, generator = FakeEmbedder(), FakeGenerator()
        store = QdrantStore("bench", path=None)
        store.ensure_collection(embedder.dimension)
        catalog = Catalog(folder / "catalog.sqlite3")
        fast = Passwords(PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
        accounts = open_accounts(settings, fast)
        answerer = Answerer(
            embedder, store, generator, Prompts(), AnswerOptions(), catalog.live_versions
        )
        services = Services(
            embedder=embedder,
            store=store,
            catalog=catalog,
            generator=generator,
            answerer=answerer,
            ingest_options=IngestOptions(),
            model_title="fake",
            accounts=accounts,
        )
        admin = accounts.create_user("bench", password="bench password", role="admin")
        self.auth = {"Authorization": f"Bearer {accounts.issue_api_token(admin.id, 'bench')}"}
        self.app: FastAPI = create_app(settings, services)
        config = uvicorn.Config(self.app, host="127.0.0.1", port=0, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        while not self.server.started:
            time.sleep(0.05)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}/api/v1/documents"

    @property
    def queue(self) -> UploadQueue:
        queue: UploadQueue = self.app.state.admin.uploads
        return queue

    def post(self, files: list[tuple[str, Any]]) -> httpx.Response:
        return httpx.post(self.url, files=files, headers=self.auth, timeout=600)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(30)


def receiving(folder: Path, accepted_mb: int) -> None:
    running = Running(folder / "receive", workers=0)
    for size in (accepted_mb, LIMIT_MB + 50):
        path = folder / f"random-{size}.pdf"
        with path.open("wb") as out:
            for _ in range(size):
                out.write(os.urandom(1 << 20))
        before, started = rss_mb(), time.perf_counter()
        with path.open("rb") as handle:
            response = running.post([("files", (path.name, handle))])
        took = time.perf_counter() - started
        job = response.json()["jobs"][0]
        print(
            f"{size} MB file: {response.status_code} in {took:.2f} s ({size / took:.0f} MB/s), "
            f"job {job['state']} {job['reason'] or ''}; RSS {before:.0f} -> {rss_mb():.0f} MB, "
            f"peak {peak_mb():.0f} MB"
        )
        path.unlink()
    running.queue.wait_idle(300)
    running.stop()


def queueing(folder: Path, copies: int) -> None:
    documents = sorted(DEMO.glob("*.md")) + sorted(DEMO.glob("*.txt"))
    for workers in (0, 1):
        running = Running(folder / f"workers-{workers}", workers)
        files = [
            ("files", (f"{n}-{doc.name}", doc.read_bytes()))
            for n in range(copies)
            for doc in documents
        ]
        started = time.perf_counter()
        response = running.post(files)
        assert response.status_code == 202, response.text
        assert running.queue.wait_idle(1800)
        took = time.perf_counter() - started
        states = sorted({job.state for job in running.queue.jobs()})
        print(
            f"DOCENT_INGEST_WORKERS={workers}: {len(files)} demo files in {took:.1f} s "
            f"({took / len(files):.2f} s per file), states {states}"
        )
        running.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--accepted-mb", type=int, default=90)
    parser.add_argument("--files", type=int, default=3, help="copies of the demo .md/.txt files")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="docent-bench-uploads-") as folder:
        receiving(Path(folder), args.accepted_mb)
        queueing(Path(folder), args.files)


if __name__ == "__main__":
    main()
