"""Documents in the admin console and /api/v1/documents: list, filter, regroup, re-index,
delete, chunks."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.accounts.db import audit_log
from app.documents import worker as worker_module
from app.services import Services
from app.settings import Settings
from ingest.access import Access
from ingest.catalog import DocumentRecord
from ingest.pipeline import IngestResult, ingest_paths
from ingest.sparse import encode_query
from tests.app import admining
from tests.app.admining import HTMX, MARKDOWN, queue_of, upload
from tests.fakes import FakeEmbedder

admin, admin_settings, admin_services = (
    admining.admin,
    admining.admin_settings,
    admining.admin_services,
)
TRAVEL = b"# Travel\n\n## Per diem\n\nThe per-diem for domestic travel is 45 EUR a day.\n"


def _record(services: Services, name: str) -> DocumentRecord:
    return next(r for r in services.catalog.all() if Path(r.source).name == name)


def _readers(services: Services, doc: DocumentRecord, access: Access) -> bool:
    """Whether a search as `access` finds any passage of the document."""
    vector = FakeEmbedder().embed(["per diem travel leave days"])[0]  # the app's embeds nothing
    found = services.store.search(vector, encode_query("per diem travel leave"), 20, access=access)
    return any(p.doc_id == doc.doc_id for p in found)


def _audit(services: Services) -> list[tuple[str, str, str]]:
    with services.accounts.engine.connect() as conn:
        rows = conn.execute(audit_log.select().order_by(audit_log.c.id)).mappings().all()
    return [(r["actor"], r["action"], r["target"]) for r in rows]


def test_list_search_and_filters(admin: TestClient) -> None:
    upload(admin, [("leave.md", MARKDOWN), ("travel.md", TRAVEL)], groups="finance")
    upload(admin, [("broken.docx", b"not a zip")])
    page = admin.get("/admin/documents").text
    assert "3 documents" in page and "leave.md" in page and "travel.md" in page
    found = admin.get("/admin/documents", params={"q": "travel"}).text
    assert "1 document<" in found and "travel.md" in found and "leave.md" not in found
    failed = admin.get("/admin/documents", params={"status": "failed"}).text
    assert "broken.docx" in failed and "travel.md" not in failed
    by_type = admin.get("/admin/documents", params={"type": "docx"}).text
    assert "broken.docx" in by_type and "leave.md" not in by_type
    by_group = admin.get("/admin/documents", params={"group": "finance"}).text
    assert "2 documents" in by_group and "broken.docx" not in by_group
    everyone = admin.get("/admin/documents", params={"group": "(everyone)"}).text
    assert "broken.docx" in everyone and "leave.md" not in everyone
    fragment = admin.get(
        "/admin/documents", params={"q": "leave"}, headers=HTMX | {"HX-Target": "doc-results"}
    ).text
    assert fragment.startswith('<div id="doc-results">') and "<nav" not in fragment


def test_regroup_changes_who_reads_without_embedding_again(
    admin: TestClient, admin_services: Services
) -> None:
    upload(admin, [("travel.md", TRAVEL)], groups="finance")
    doc = _record(admin_services, "travel.md")
    assert _readers(admin_services, doc, Access.member_of({"finance"}))
    assert not _readers(admin_services, doc, Access.member_of({"sales"}))
    embedded = len(admin_services.embedder.embedded_texts)  # type: ignore[attr-defined]
    response = admin.post(
        f"/admin/documents/{doc.doc_id}/groups",
        data={"groups": ["finance"], "new_groups": "sales"},
        follow_redirects=False,
    )
    assert response.status_code == 303 and "notice=regrouped" in response.headers["location"]
    after = _record(admin_services, "travel.md")
    assert after.groups == ("finance", "sales") and after.version == doc.version
    assert _readers(admin_services, doc, Access.member_of({"sales"}))
    assert len(admin_services.embedder.embedded_texts) == embedded  # type: ignore[attr-defined]
    assert "sales" in admin_services.accounts.list_groups()  # offered for users now
    admin.post(f"/admin/documents/{doc.doc_id}/groups", data={})  # no group: everyone
    assert _record(admin_services, "travel.md").groups == ()
    assert _readers(admin_services, doc, Access.public())
    assert [a for a in _audit(admin_services) if a[1] == "regroup"] == [
        ("boss", "regroup", "Travel"),
        ("boss", "regroup", "Travel"),
    ]


def test_a_bad_group_name_is_refused_and_nothing_changes(
    admin: TestClient, admin_services: Services
) -> None:
    upload(admin, [("travel.md", TRAVEL)], groups="finance")
    doc = _record(admin_services, "travel.md")
    response = admin.post(f"/admin/documents/{doc.doc_id}/groups", data={"new_groups": "<b>"})
    assert response.status_code == 422 and "invalid group name" in response.text
    assert _record(admin_services, "travel.md").groups == ("finance",)


def test_chunks_are_shown_with_text_page_and_headings(
    admin: TestClient, admin_services: Services
) -> None:
    upload(admin, [("travel.md", TRAVEL)])
    doc = _record(admin_services, "travel.md")
    page = admin.get(f"/admin/documents/{doc.doc_id}").text
    assert "The per-diem for domestic travel is 45 EUR a day." in page
    assert "Travel › Per diem" in page  # the heading path
    assert f'Chunks <span class="hint">{doc.chunk_count}' in page
    assert admin.get("/admin/documents/not-a-document").status_code == 404


def test_reindex_goes_through_the_queue(admin: TestClient, admin_services: Services) -> None:
    upload(admin, [("travel.md", TRAVEL)])
    doc = _record(admin_services, "travel.md")
    embedded = len(admin_services.embedder.embedded_texts)  # type: ignore[attr-defined]
    response = admin.post(f"/admin/documents/{doc.doc_id}/reindex", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/admin/uploads")
    assert queue_of(admin).wait_idle(60)
    job = queue_of(admin).jobs()[0]
    assert (job.kind, job.state, job.outcome) == ("reindex", "done", "updated")
    assert len(admin_services.embedder.embedded_texts) > embedded  # type: ignore[attr-defined]


def test_delete_removes_the_document_its_chunks_and_the_uploaded_file(
    admin: TestClient, admin_services: Services, admin_settings: Settings
) -> None:
    upload(admin, [("travel.md", TRAVEL), ("leave.md", MARKDOWN)])
    doc = _record(admin_services, "travel.md")
    before = admin_services.store.count()
    response = admin.post(f"/admin/documents/{doc.doc_id}/delete", follow_redirects=False)
    assert response.status_code == 303
    assert admin_services.catalog.get(doc.doc_id) is None
    assert admin_services.store.count() == before - doc.chunk_count
    assert not (admin_settings.data_dir / "uploads" / "travel.md").exists()
    assert (admin_settings.data_dir / "uploads" / "leave.md").exists()
    assert ("boss", "delete-document", "Travel") in _audit(admin_services)
    assert admin.post(f"/admin/documents/{doc.doc_id}/delete").status_code == 404


def test_a_file_outside_the_uploads_folder_stays_when_its_document_is_deleted(
    admin: TestClient, admin_services: Services, tmp_path: Path
) -> None:
    outside = tmp_path / "handbook.md"
    outside.write_bytes(MARKDOWN)
    ingest_paths(
        [outside],
        embedder=admin_services.embedder,
        store=admin_services.store,
        catalog=admin_services.catalog,
        options=admin_services.ingest_options,
    )
    doc = _record(admin_services, "handbook.md")
    assert admin.post(f"/admin/documents/{doc.doc_id}/delete").status_code == 200
    assert outside.exists() and admin_services.catalog.get(doc.doc_id) is None


def test_the_json_api_uploads_lists_and_deletes_with_an_admin_token(
    admin: TestClient, admin_services: Services
) -> None:
    token = admin_services.accounts.issue_api_token(
        admin_services.accounts.find_user("boss").id,  # type: ignore[union-attr]
        "script",
    )
    admin.cookies.clear()
    admin.headers.pop("X-CSRF-Token")
    bearer = {"Authorization": f"Bearer {token}"}
    response = admin.post(
        "/api/v1/documents",
        files=[("files", ("travel.md", TRAVEL)), ("files", ("big.md", b"x" * (2 << 20)))],
        data={"groups": "finance"},
        headers=bearer,
    )
    assert response.status_code == 202
    jobs = response.json()["jobs"]
    assert [(j["filename"], j["state"]) for j in jobs] == [
        ("travel.md", "queued"),
        ("big.md", "failed"),
    ]
    assert queue_of(admin).wait_idle(60)
    status = admin.get(f"/api/v1/uploads/{jobs[0]['id']}", headers=bearer).json()
    assert status["state"] == "done" and status["chunks"] >= 1
    listed = admin.get("/api/v1/documents", params={"group": "finance"}, headers=bearer).json()
    assert [(d["title"], d["status"], d["groups"]) for d in listed["documents"]] == [
        ("Travel", "ok", ["finance"])
    ]
    doc_id = listed["documents"][0]["id"]
    deleted = admin.delete(f"/api/v1/documents/{doc_id}", headers=bearer)
    assert deleted.json() == {"deleted": doc_id, "file_deleted": True}
    assert admin.get("/api/v1/documents", headers=bearer).json() == {"documents": []}
    assert admin.delete(f"/api/v1/documents/{doc_id}", headers=bearer).status_code == 404


def test_a_member_token_cannot_use_the_documents_api(
    admin: TestClient, admin_services: Services
) -> None:
    member = admin_services.accounts.create_user("mia", password="long enough pw")
    token = admin_services.accounts.issue_api_token(member.id, "mine")
    admin.cookies.clear()
    bearer = {"Authorization": f"Bearer {token}"}
    assert admin.get("/api/v1/documents", headers=bearer).status_code == 403
    files = [("files", ("a.md", MARKDOWN))]
    assert admin.post("/api/v1/documents", files=files, headers=bearer).status_code == 403
    assert queue_of(admin).jobs() == []


def test_reindex_and_regroup_keep_the_documents_search_tags(
    admin: TestClient, admin_services: Services, admin_settings: Settings
) -> None:
    path = admin_settings.data_dir / "uploads" / "travel.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(TRAVEL)
    options = replace(admin_services.ingest_options, groups=("finance",), tags=("policy",))
    ingest_paths(
        [path],
        embedder=admin_services.embedder,
        store=admin_services.store,
        catalog=admin_services.catalog,
        options=options,
    )
    doc = _record(admin_services, "travel.md")
    admin.post(f"/admin/documents/{doc.doc_id}/reindex")
    assert queue_of(admin).wait_idle(60)
    assert queue_of(admin).jobs()[0].outcome == "updated"
    assert _record(admin_services, "travel.md").tags == ("policy",)
    admin.post(f"/admin/documents/{doc.doc_id}/groups", data={"new_groups": "sales"})
    after = _record(admin_services, "travel.md")
    assert (after.groups, after.tags) == (("sales",), ("policy",))
    chunks = admin_services.store.document_chunks(after.doc_id, after.version)
    assert {c.groups for c in chunks} == {("sales",)}


def _holding_the_worker(monkeypatch: pytest.MonkeyPatch) -> tuple[list[list[str]], threading.Event]:
    """Each pipeline run waits for the event: what waits behind it stays queued."""
    runs: list[list[str]] = []
    release = threading.Event()
    real = worker_module.ingest_paths

    def held(paths: Sequence[Path], **kwargs: Any) -> list[IngestResult]:
        runs.append([p.name for p in paths])
        release.wait(30)
        return real(paths, **kwargs)

    monkeypatch.setattr(worker_module, "ingest_paths", held)
    return runs, release


def test_a_group_change_made_while_a_reindex_waits_is_kept(
    admin: TestClient, admin_services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The re-index reads the document's groups when it runs, not when it was queued."""
    upload(admin, [("travel.md", TRAVEL)], groups="finance")
    doc = _record(admin_services, "travel.md")
    runs, release = _holding_the_worker(monkeypatch)
    admin.post("/api/v1/documents", files=[("files", ("leave.md", MARKDOWN))])
    while not runs:  # the worker is busy with leave.md: the re-index waits behind it
        time.sleep(0.01)
    admin.post(f"/admin/documents/{doc.doc_id}/reindex")
    moved = admin.post(f"/admin/documents/{doc.doc_id}/groups", data={"groups": ["hr"]})
    assert moved.status_code == 200, moved.text
    release.set()
    assert queue_of(admin).wait_idle(60)
    reindexed = next(j for j in queue_of(admin).jobs() if j.kind == "reindex")
    assert (reindexed.state, reindexed.outcome, reindexed.groups) == ("done", "updated", ("hr",))
    after = _record(admin_services, "travel.md")
    assert after.groups == ("hr",)
    chunks = admin_services.store.document_chunks(after.doc_id, after.version)
    assert chunks and {c.groups for c in chunks} == {("hr",)}
    assert not _readers(admin_services, after, Access.member_of(["finance"]))


def test_groups_cannot_change_while_the_document_is_being_ingested(
    admin: TestClient, admin_services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its run would write the groups it started with: 409, and the groups stay as they were."""
    upload(admin, [("travel.md", TRAVEL)], groups="finance")
    doc = _record(admin_services, "travel.md")
    runs, release = _holding_the_worker(monkeypatch)
    admin.post(f"/admin/documents/{doc.doc_id}/reindex")
    while not runs:  # the re-index of travel.md is running
        time.sleep(0.01)
    refused = admin.post(f"/admin/documents/{doc.doc_id}/groups", data={"groups": ["hr"]})
    release.set()
    assert refused.status_code == 409 and "being ingested" in refused.text
    assert queue_of(admin).wait_idle(60)
    assert _record(admin_services, "travel.md").groups == ("finance",)
    moved = admin.post(f"/admin/documents/{doc.doc_id}/groups", data={"groups": ["hr"]})
    assert moved.status_code == 200 and _record(admin_services, "travel.md").groups == ("hr",)
