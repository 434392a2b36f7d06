"""One ingestion job system in the app database: several workers (app processes) share one
queue, each file ingested exactly once; progress reads the same from every worker; a worker
that dies has its file finished by another; a job queued by one process is shown and run by
another. The same for a batch (`docent ingest`): two workers share its files, each file once,
its progress read the same through either, and a file a dead worker held is finished by the
other. (test_postgres_upload_jobs.py runs these on PostgreSQL, where claims use
`FOR UPDATE SKIP LOCKED`.)"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from app.accounts import Accounts
from app.documents.batches import Batch, BatchRequest, follow, submit
from app.documents.jobs import JobTable, worker_name
from app.documents.uploads import UploadQueue
from ingest.catalog import Catalog
from ingest.pipeline import IngestResult
from ingest.store import QdrantStore
from tests.app.documents.uploading import Parts
from tests.fakes import FakeEmbedder

ANOTHER_MACHINE = "elsewhere:4242:dead"  # a worker on another host: only its lease tells


class SteadyEmbedder(FakeEmbedder):
    """The fake embedder taking a tenth of a second a call, as a real one takes its time: so
    a worker busy with one file leaves the next to the other."""

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        time.sleep(0.1)
        return super().embed(texts)


class Workers:
    """Upload queues on shared parts, one per app process, counting the files each ingests."""

    def __init__(self, parts: Parts) -> None:
        self.parts = parts
        self.results: Counter[str] = Counter()  # per worker: files it ingested
        self.started: list[UploadQueue] = []

    def start(self, lease: float = 60.0, claim: int = 1) -> UploadQueue:
        name = f"{worker_name()}-{len(self.started)}"

        def counted(result: IngestResult) -> None:
            self.results[name] += 1

        queue = self.parts.queue(
            lease=lease, poll=0.05, claim=claim, worker=name, on_result=counted
        )
        self.started.append(queue)
        return queue

    def close(self) -> None:
        for queue in self.started:
            queue.close()


@pytest.fixture
def workers(
    tmp_path: Path, accounts: Accounts, store: QdrantStore, catalog: Catalog
) -> Iterator[Workers]:
    shared = Workers(Parts(tmp_path / "uploads", accounts, SteadyEmbedder(), store, catalog))
    yield shared
    shared.close()


def _file(queue: UploadQueue, name: str) -> Path:
    path = queue.incoming / name
    path.write_text(f"# {name}\n\nThe {name} policy says something of its own, {name}.\n")
    return path


def test_two_workers_ingest_one_batch_each_file_once(workers: Workers) -> None:
    first, second = workers.start(), workers.start()
    first.close()  # queue everything before any worker runs
    jobs = [first.add_file(_file(first, f"doc{i}.md"), f"doc{i}.md", ["hr"]) for i in range(6)]
    first = workers.start()  # the first process's worker, running again
    second.recover()
    first.recover()
    assert second.wait_idle(60) and first.wait_idle(60)
    assert sum(workers.results.values()) == 6, workers.results  # each file exactly once
    assert len(workers.results) == 2, workers.results  # both took part
    assert len(workers.parts.catalog.all()) == 6
    for job in jobs:  # the same progress from either process
        seen = first.get(job.id), second.get(job.id)
        assert seen[0] == seen[1] and seen[0] is not None and seen[0].state == "done"


def test_a_dead_workers_file_is_finished_by_another(workers: Workers) -> None:
    stopped = workers.start()
    stopped.close()
    job = stopped.add_file(_file(stopped, "leave.md"), "leave.md", ["hr"])
    table = JobTable(workers.parts.accounts.engine)
    (taken,) = table.claim(ANOTHER_MACHINE, lease=0.5)  # it took the file, then died
    table.update(taken.id, state="parsing")
    survivor = workers.start()
    survivor.recover()
    time.sleep(0.2)
    assert survivor.get(job.id).state == "parsing"  # type: ignore[union-attr]  # lease still runs
    assert survivor.wait_idle(30)
    done = survivor.get(job.id)
    assert done is not None and done.state == "done" and done.groups == ("hr",)
    assert workers.results == {survivor.worker: 1}


def test_a_job_queued_by_one_process_is_shown_and_run_by_another(workers: Workers) -> None:
    one = workers.start()
    one.close()
    job = one.add_file(_file(one, "leave.md"), "leave.md", ["hr"], "boss")
    other = workers.start()
    assert [(j.id, j.state, j.actor) for j in other.jobs()] == [(job.id, "queued", "boss")]
    other.recover()
    assert other.wait_idle(30)
    assert one.get(job.id).state == "done"  # type: ignore[union-attr]  # seen from the first too


def _batch(workers: Workers, folder: Path, count: int) -> Batch:
    """A `docent ingest` of a folder of `count` files, queued before any worker runs."""
    folder.mkdir()
    for i in range(count):
        text = f"# Part {i}\n\nThe part {i} rules say something of their own, part {i}.\n"
        (folder / f"part{i}.md").write_text(text)
    table = JobTable(workers.parts.accounts.engine)
    return submit(table, BatchRequest((folder,), groups=("ops",), workers=0))


def test_two_workers_ingest_one_batch_together_each_file_once(
    workers: Workers, tmp_path: Path
) -> None:
    batch = _batch(workers, tmp_path / "batch", 6)
    first, second = workers.start(), workers.start()
    first.start()
    second.start()
    seen = follow(
        second.table, batch.id, poll=0.05, timeout=60
    )  # progress read through either worker
    assert sorted(Path(r.source).name for r in seen) == [f"part{i}.md" for i in range(6)]
    assert {r.status for r in seen} == {"new"}
    assert sum(workers.results.values()) == 6, workers.results  # each file exactly once
    assert len(workers.results) == 2, workers.results  # both took part
    assert first.table.batch(batch.id) == second.table.batch(batch.id)
    assert {(j.state, j.groups) for j in first.table.batch(batch.id)} == {("done", ("ops",))}
    assert len(workers.parts.catalog.all()) == 6


def test_a_batch_file_a_dead_worker_held_is_finished_by_another(
    workers: Workers, tmp_path: Path
) -> None:
    batch = _batch(workers, tmp_path / "batch", 3)
    table = JobTable(workers.parts.accounts.engine)
    (taken,) = table.claim(ANOTHER_MACHINE, lease=0.5, limit=1)  # it took a file, then died
    table.update(taken.id, state="embedding")  # in the middle of the file
    survivor = workers.start()
    survivor.start()
    time.sleep(0.2)
    assert survivor.get(taken.id).state == "embedding"  # type: ignore[union-attr]  # lease runs
    seen = follow(table, batch.id, poll=0.05, timeout=60)
    assert len(seen) == 3 and {r.status for r in seen} == {"new"}
    assert workers.results == {survivor.worker: 3}  # the dead worker's file too
    assert survivor.get(taken.id).state == "done"  # type: ignore[union-attr]
    assert len(workers.parts.catalog.all()) == 3


def test_a_batch_is_for_its_machines_workers_and_its_sync_waits_for_its_files(
    workers: Workers, tmp_path: Path
) -> None:
    folder = tmp_path / "batch"
    folder.mkdir()
    (folder / "one.md").write_text("# One\n\nOne.\n")
    engine = workers.parts.accounts.engine
    here = JobTable(engine)
    batch = submit(here, BatchRequest((folder,), sync=True))
    assert JobTable(engine, host="elsewhere").claim("elsewhere:1:x", lease=60) == []
    (file_job,) = here.claim("here:1:x", lease=60, limit=10)  # not the sync row yet
    assert file_job.kind == "ingest" and file_job.roots == (str(folder),)
    assert here.claim("here:2:x", lease=60, limit=10) == []
    here.update(file_job.id, state="done", outcome="new")
    (sync,) = here.claim("here:2:x", lease=60, limit=10)
    assert (sync.kind, sync.batch) == ("sync", batch.id)


def test_a_group_change_is_a_finished_job_row_every_process_shows(
    workers: Workers, tmp_path: Path
) -> None:
    one = workers.start()
    job = one.add_file(_file(one, "leave.md"), "leave.md", ["hr"], "boss")
    one.recover()
    assert one.wait_idle(30)
    regrouped = one.regroup(job.path, ["hr", "ops"], "boss")  # type: ignore[arg-type]
    other = workers.start()
    seen = other.get(regrouped.id)
    assert seen is not None and (seen.kind, seen.state, seen.outcome) == (
        "regroup",
        "done",
        "updated",
    )
    assert seen.groups == ("hr", "ops") and seen.actor == "boss"
    assert workers.parts.catalog.all()[0].groups == ("hr", "ops")
    assert workers.results[one.worker] == 1  # nothing was ingested again
