"""Uploading through the admin console: many files, each with its own live status."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from fastapi import HTTPException
from fastapi.testclient import TestClient
from starlette.requests import Request

from app.documents import worker as worker_module
from app.documents.batches import BatchRequest, submit
from app.documents.uploads import safe_name
from app.services import Services
from app.settings import Settings
from app.web.upload_form import check_content_length, request_limit
from ingest import workers
from ingest.ocr import OCR_OFF, OcrOptions
from ingest.pipeline import IngestResult
from tests.app import admining
from tests.app.admining import HTMX, MARKDOWN, queue_of, upload
from tests.fakes import FakeEmbedder

admin, admin_settings, admin_services = (
    admining.admin,
    admining.admin_settings,
    admining.admin_services,
)
TOO_BIG = b"x" * ((1 << 20) + 10)  # the test settings allow 1 MB per file


def _states(page: str) -> dict[str, str]:
    """File name -> state, from the status list's rows."""
    rows = re.findall(r'<td class="name">([^<]+).*?class="state state-(\w+)"', page, re.S)
    return {name.strip(): state for name, state in rows}


def test_several_files_at_once_each_get_a_status_and_the_good_ones_are_ingested(
    admin: TestClient, admin_settings: Settings, admin_services: Services
) -> None:
    files = [
        ("leave.md", MARKDOWN),
        ("huge.txt", TOO_BIG),
        ("broken.docx", b"this is not a zip archive at all"),
        ("notes.txt", b"The office opens at eight in the morning on weekdays.\n"),
    ]
    jobs = upload(admin, files, groups="hr")
    by_name = {job["filename"]: job for job in jobs}
    assert by_name["leave.md"]["state"] == "done" and by_name["leave.md"]["outcome"] == "new"
    assert by_name["notes.txt"]["state"] == "done"
    assert by_name["huge.txt"]["state"] == "failed"
    assert "larger than the 1.0 MB limit" in str(by_name["huge.txt"]["reason"])
    assert by_name["broken.docx"]["state"] == "failed"
    assert "not a valid .docx file" in str(by_name["broken.docx"]["reason"])
    catalog = {Path(r.source).name: r for r in admin_services.catalog.all()}
    assert catalog["leave.md"].status == "ok" and catalog["leave.md"].groups == ("hr",)
    assert catalog["notes.txt"].chunk_count >= 1
    assert "huge.txt" not in catalog  # refused while streaming: never saved, never ingested
    uploads = admin_settings.data_dir / "uploads"
    assert sorted(p.name for p in uploads.iterdir() if p.is_file()) == [
        "broken.docx",
        "leave.md",
        "notes.txt",
    ]
    left = [p for p in (uploads / ".incoming").rglob("*") if p.is_file()]
    assert left == []  # nothing half-received left behind
    page = admin.get("/admin/uploads/status").text
    assert _states(page) == {
        "leave.md": "done",
        "huge.txt": "failed",
        "broken.docx": "failed",
        "notes.txt": "done",
    }
    assert "every 1s" not in page  # nothing running: the fragment stops polling


def test_states_move_from_queued_through_parsing_and_embedding_to_done(
    admin: TestClient, admin_services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The job's state is recorded at the moment the pipeline parses, then embeds."""
    seen: list[tuple[str, str]] = []
    queue = queue_of(admin)
    embedder: FakeEmbedder = admin_services.embedder  # type: ignore[assignment]
    real_embed, real_parse = embedder.embed, workers.safe_parse

    def parsing(path: Path, max_bytes: int, ocr: OcrOptions = OCR_OFF) -> workers.Outcome:
        seen.append(("parse", queue.jobs()[0].state))
        return real_parse(path, max_bytes, ocr)

    def embedding(texts: Sequence[str]) -> list[list[float]]:
        seen.append(("embed", queue.jobs()[0].state))
        return real_embed(texts)

    monkeypatch.setattr(workers, "safe_parse", parsing)
    monkeypatch.setattr(embedder, "embed", embedding)
    jobs = upload(admin, [("leave.md", MARKDOWN)])
    assert jobs[0]["state"] == "done"
    assert seen == [("parse", "parsing"), ("embed", "embedding")]


def test_the_status_fragment_polls_while_a_file_waits(admin: TestClient) -> None:
    queue = queue_of(admin)
    incoming = queue.incoming / "held.part"
    incoming.write_bytes(MARKDOWN)
    queue._closed = True  # the worker does not start: the job stays queued
    queue.add_file(incoming, "held.md")
    page = admin.get("/admin/uploads/status", headers=HTMX).text
    assert 'hx-trigger="every 1s"' in page and _states(page) == {"held.md": "queued"}


def test_the_drop_zone_posts_one_file_and_gets_the_status_list(admin: TestClient) -> None:
    response = admin.post("/admin/uploads", files=[("files", ("a.md", MARKDOWN))], headers=HTMX)
    assert response.status_code == 200
    assert 'id="upload-status"' in response.text and "a.md" in response.text
    assert queue_of(admin).wait_idle(60)


def test_a_plain_form_post_with_the_token_in_the_form_works_too(admin: TestClient) -> None:
    """Without JavaScript the CSRF token is a form field: the form is parsed before the files
    are read, and the limit still applies."""
    token = admin.headers.pop("X-CSRF-Token")
    response = admin.post(
        "/admin/uploads",
        data={"csrf_token": token, "groups": "finance"},
        files=[("files", ("a.md", MARKDOWN)), ("files", ("b.txt", TOO_BIG))],
        follow_redirects=False,
    )
    assert response.status_code == 303 and response.headers["location"] == "/admin/uploads"
    assert queue_of(admin).wait_idle(60)
    states = {job.filename: (job.state, job.groups) for job in queue_of(admin).jobs()}
    assert states["a.md"] == ("done", ("finance",))
    assert states["b.txt"][0] == "failed"


def test_duplicate_names_get_distinct_files_and_replace_keeps_one(
    admin: TestClient, admin_settings: Settings
) -> None:
    first = upload(admin, [("leave.md", MARKDOWN)])
    second = upload(admin, [("leave.md", MARKDOWN + b"\nAnd two more days.\n")])
    assert (first[0]["filename"], second[0]["filename"]) == ("leave.md", "leave (2).md")
    third = upload(admin, [("leave.md", MARKDOWN + b"\nChanged.\n")], replace="on")
    assert third[0]["filename"] == "leave.md" and third[0]["outcome"] == "updated"
    names = sorted(p.name for p in (admin_settings.data_dir / "uploads").glob("*.md"))
    assert names == ["leave (2).md", "leave.md"]


def test_client_file_names_cannot_escape_the_uploads_folder(
    admin: TestClient, admin_settings: Settings, tmp_path: Path
) -> None:
    jobs = upload(
        admin,
        [("../../evil.md", MARKDOWN), ("..\\..\\win.md", MARKDOWN), ("/etc/x.md", MARKDOWN)],
    )
    assert [job["filename"] for job in jobs] == ["evil.md", "win.md", "x.md"]
    assert (
        not (tmp_path / "evil.md").exists() and not (admin_settings.data_dir / "evil.md").exists()
    )


@pytest.mark.parametrize(
    ("raw", "safe"),
    [
        ("report.pdf", "report.pdf"),
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\me\\plan.docx", "plan.docx"),
        ("..", "upload"),
        (".hidden.md", "hidden.md"),
        ("a\nb\tc\u202e.txt", "abc.txt"),
        ('what?<is>"this".md', "what__is__this_.md"),
        ("x" * 400 + ".pdf", "x" * 146 + ".pdf"),
        ("é" * 200 + ".md", "é" * 73 + ".md"),
        ("", "upload"),
    ],
)
def test_safe_name(raw: str, safe: str) -> None:
    assert safe_name(raw) == safe


def test_unsupported_types_are_refused_on_arrival(
    admin: TestClient, admin_settings: Settings
) -> None:
    jobs = upload(admin, [("tool.exe", b"MZ...."), ("ok.md", MARKDOWN)])
    assert jobs[0]["state"] == "failed" and "unsupported file type .exe" in str(jobs[0]["reason"])
    assert jobs[1]["state"] == "done"
    assert not (admin_settings.data_dir / "uploads" / "tool.exe").exists()


def _request(headers: dict[str, str]) -> Request:
    raw = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    return Request({"type": "http", "method": "POST", "path": "/", "headers": raw})


def test_content_length_is_checked_before_reading() -> None:
    limit = 1 << 20
    check_content_length(_request({"Content-Length": str(request_limit(limit))}), limit)
    with pytest.raises(HTTPException) as too_big:
        check_content_length(_request({"Content-Length": str(request_limit(limit) + 1)}), limit)
    assert too_big.value.status_code == 413 and "at most 50 files of 1.0 MB" in too_big.value.detail
    with pytest.raises(HTTPException) as unknown:
        check_content_length(_request({}), limit)
    assert unknown.value.status_code == 411


def test_an_upload_without_its_length_is_refused_before_its_body_is_read(
    admin: TestClient,
) -> None:
    def body() -> Iterator[bytes]:  # a generator body is sent without Content-Length
        yield b"--x\r\n"
        raise AssertionError("the body was read")

    response = admin.post(
        "/admin/uploads",
        content=body(),
        headers={"Content-Type": "multipart/form-data; boundary=x"},
    )
    assert response.status_code == 411


def test_files_saved_but_not_ingested_are_queued_again_at_start(
    admin_settings: Settings, admin_services: Services
) -> None:
    """A file queued with its note resumes; one without a note (its groups unknown) is failed,
    not ingested for everyone (tests/faults/test_upload_recovery.py has the details)."""
    uploads = admin_settings.data_dir / "uploads"
    uploads.mkdir(parents=True)
    (uploads / "left.md").write_bytes(MARKDOWN)
    (uploads / "noted.md").write_bytes(MARKDOWN.replace(b"twenty", b"thirty"))
    (uploads / ".queued").mkdir()
    note: dict[str, object] = {"filename": "noted.md", "kind": "upload", "actor": "boss"}
    note |= {"path": str(uploads / "noted.md"), "groups": ["hr"], "tags": []}
    (uploads / ".queued" / "abc123.json").write_text(json.dumps(note))
    with TestClient(admining.create_app(admin_settings, admin_services)) as client:
        assert queue_of(client).wait_idle(60)
        jobs = {j.filename: (j.state, j.groups) for j in queue_of(client).jobs()}
        assert jobs == {"left.md": ("failed", ()), "noted.md": ("done", ("hr",))}


def test_files_waiting_together_share_one_pipeline_run(
    admin: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A parser pool costs seconds to start: files that queued up while another was ingested
    go through the pipeline together, each still finishing with its own status."""
    runs: list[list[str]] = []
    release = threading.Event()
    real = worker_module.ingest_paths

    def recording(paths: Sequence[Path], **kwargs: Any) -> list[IngestResult]:
        runs.append([p.name for p in paths])
        release.wait(30)  # the first run holds the worker while more files arrive
        return real(paths, **kwargs)

    monkeypatch.setattr(worker_module, "ingest_paths", recording)
    queue = queue_of(admin)
    first = admin.post("/api/v1/documents", files=[("files", ("a.md", MARKDOWN))])
    assert first.status_code == 202
    while not runs:
        time.sleep(0.01)
    files = [("files", (name, MARKDOWN + name.encode())) for name in ("b.md", "c.md", "d.md")]
    admin.post("/api/v1/documents", files=files, data={"groups": "hr"})
    admin.post("/api/v1/documents", files=[("files", ("e.md", MARKDOWN + b"e"))])
    release.set()
    assert queue.wait_idle(60)
    assert runs == [["a.md"], ["b.md", "c.md", "d.md"], ["e.md"]]  # grouped by their groups
    assert {job.filename: job.state for job in queue.jobs()} == dict.fromkeys(
        ["a.md", "b.md", "c.md", "d.md", "e.md"], "done"
    )


def test_the_files_of_a_docent_ingest_batch_show_on_the_upload_list(
    admin: TestClient, tmp_path: Path
) -> None:
    """`docent ingest` queues its files in the same job table: the admin sees them and their
    outcome beside the uploads."""
    docs = tmp_path / "batch"
    docs.mkdir()
    (docs / "handbook.md").write_bytes(MARKDOWN)
    queue = queue_of(admin)
    submit(queue.table, BatchRequest((docs,), groups=("hr",)))
    queue.wake()
    assert queue.wait_idle(60)
    page = admin.get("/admin/uploads").text
    assert "handbook.md" in page and '<span class="tag">docent ingest</span>' in page
    assert "new: " in page  # its outcome and chunks
