"""The upload queue after a stop or a crash: unfinished jobs come back with their groups, a file
saved without a job is listed as failed (never ingested for everyone)."""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path

import pytest

from app.accounts import Accounts
from app.documents.uploads import NO_NOTE, QUEUED, UploadQueue
from ingest.catalog import Catalog
from ingest.store import QdrantStore
from tests.app.documents.uploading import Parts
from tests.fakes import FakeEmbedder

TEXT = "# Leave\n\nEveryone gets twenty eight days of annual leave each year.\n"


@pytest.fixture
def parts(
    tmp_path: Path, accounts: Accounts, embedder: FakeEmbedder, store: QdrantStore, catalog: Catalog
) -> Parts:
    return Parts(tmp_path / "uploads", accounts, embedder, store, catalog)


def _received(queue: UploadQueue, name: str, text: str = TEXT) -> Path:
    path = queue.incoming / name
    path.write_text(text)
    return path


def test_a_job_queued_when_the_app_stopped_resumes_with_its_id_and_groups(parts: Parts) -> None:
    first = parts.queue()
    first.close()  # stopped: the worker takes nothing more, as if killed before it ran
    job = first.add_file(_received(first, "leave.md"), "leave.md", ["hr"], "boss")
    assert parts.catalog.all() == []
    waiting = first.get(job.id)  # kept in the app database with its groups
    assert waiting is not None and (waiting.state, waiting.groups) == ("queued", ("hr",))

    again = parts.queue()
    recovered = again.recover()
    assert [(j.id, j.groups, j.actor) for j in recovered] == [(job.id, ("hr",), "boss")]
    assert again.wait_idle(30)
    done = again.get(job.id)
    assert done is not None and done.state == "done" and done.outcome == "new"
    (record,) = parts.catalog.all()
    assert record.status == "ok" and record.groups == ("hr",)
    chunks = parts.store.document_chunks(record.doc_id, record.version)
    assert len(chunks) == record.chunk_count and {c.groups for c in chunks} == {("hr",)}
    assert again.recover() == []  # nothing left to resume
    again.close()


def test_a_pending_catalog_entry_from_a_killed_ingestion_is_ingested_again(parts: Parts) -> None:
    first = parts.queue()
    first.close()
    job = first.add_file(_received(first, "leave.md"), "leave.md", ["hr"], "boss")
    assert job.path is not None
    parts.catalog.record_pending("doc-from-the-killed-run", str(job.path.resolve()), "0" * 16)

    again = parts.queue()
    assert [j.id for j in again.recover()] == [job.id]
    assert again.wait_idle(30)
    assert again.get(job.id).state == "done"  # type: ignore[union-attr]
    assert [(r.status, r.groups) for r in parts.catalog.all()] == [("ok", ("hr",))]
    again.close()


def test_a_saved_file_without_a_note_is_failed_with_a_reason_not_ingested_for_everyone(
    parts: Parts,
) -> None:
    parts.folder.mkdir()
    (parts.folder / "secret.md").write_text(TEXT)  # saved, then killed before its note was written
    queue = parts.queue()
    queue.incoming.joinpath("half.md").write_text("# Hal")  # half-received
    (job,) = queue.recover()
    assert (job.filename, job.state, job.reason) == ("secret.md", "failed", NO_NOTE)
    assert queue.wait_idle(5)
    assert parts.catalog.all() == [] and parts.store.count() == 0
    assert list(queue.incoming.iterdir()) == []
    assert (parts.folder / "secret.md").is_file()  # kept for the admin to look at
    queue.close()


def test_a_note_for_a_file_that_is_gone_ends_failed_and_a_broken_note_is_dropped(
    parts: Parts,
) -> None:
    first = parts.queue()
    first.close()
    job = first.add_file(_received(first, "leave.md"), "leave.md", [], "boss")
    assert job.path is not None
    job.path.unlink()
    (parts.folder / QUEUED).mkdir()
    (parts.folder / QUEUED / "broken.json").write_text("{not json")

    again = parts.queue()
    assert [j.id for j in again.recover()] == [job.id]
    assert again.wait_idle(10)
    ended = again.get(job.id)
    assert ended is not None and (ended.state, ended.reason) == ("failed", "the file is gone")
    assert list((parts.folder / QUEUED).iterdir()) == []  # an older docent's notes are read once
    again.close()


def test_a_finished_upload_is_not_queued_again(parts: Parts) -> None:
    queue = parts.queue()
    job = queue.add_file(_received(queue, "leave.md"), "leave.md", ["hr"], "boss")
    assert queue.wait_idle(30) and queue.get(job.id).state == "done"  # type: ignore[union-attr]
    queue.close()
    assert parts.queue().recover() == []


def test_a_start_clears_what_dead_processes_were_receiving_and_keeps_the_living_ones(
    parts: Parts,
) -> None:
    """Several app processes (on this machine, or on others sharing the uploads volume) each
    receive into a folder of their own: a process starting clears only the dead ones'."""
    gone = subprocess.Popen(["true"])  # a process that is gone now
    gone.wait()
    incoming = parts.folder / ".incoming"
    host = socket.gethostname()
    receiving = {
        "alive": incoming / f"{host}:{os.getppid()}:in" / "a.part",
        "dead": incoming / f"{host}:{gone.pid}:in" / "b.part",
        "elsewhere": incoming / "another-machine:12:in" / "c.part",  # only its machine knows
        "loose": incoming / "d.part",  # left by a docent before these folders
    }
    for path in receiving.values():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("# Hal")
    queue = parts.queue()
    queue.recover()
    left = {name for name, path in receiving.items() if path.exists()}
    assert left == {"alive", "elsewhere"}
    queue.close()
