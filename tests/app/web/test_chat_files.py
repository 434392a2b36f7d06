"""Opening a cited document's original file: only for those its groups allow; no path tricks."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.services import Services
from app.settings import Settings
from app.web import create_app
from ingest.catalog import OkRecord
from tests.app.conversations.test_conversations import make_answer
from tests.app.sample import passage
from tests.app.signin import add_user, sign_in

PDF_BYTES = b"%PDF-1.4\n% a stand-in: served as bytes, never parsed here\n%%EOF\n"


def catalogue(services: Services, doc_id: str, path: Path, groups: tuple[str, ...] = ()) -> None:
    services.catalog.record_ok(
        OkRecord(doc_id, str(path), path.stem, "hash-" + doc_id, "v1", "p1", 1, None, groups)
    )


@pytest.fixture
def docs(services: Services, tmp_path: Path) -> Path:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "salaries.pdf").write_bytes(PDF_BYTES)
    (folder / "handbook.md").write_text("# Handbook\n\nBe kind.\n")
    (folder / "page.html").write_text("<script>alert(document.cookie)</script>")
    catalogue(services, "doc-pdf", folder / "salaries.pdf", groups=("hr",))
    catalogue(services, "doc-md", folder / "handbook.md")
    catalogue(services, "doc-html", folder / "page.html")
    return folder


@pytest.fixture
def app_client(
    settings: Settings, services: Services, docs: Path
) -> Iterator[tuple[TestClient, Services]]:
    add_user(services.accounts, "alice")  # no groups
    add_user(services.accounts, "hana", groups=("hr",))
    add_user(services.accounts, "root", role="admin")
    with TestClient(create_app(settings, services)) as client:
        yield client, services


def signed_in(pair: tuple[TestClient, Services], username: str) -> TestClient:
    client = TestClient(pair[0].app)
    sign_in(client, username)
    return client


def test_a_pdf_opens_inline_for_a_member_of_its_group(
    app_client: tuple[TestClient, Services],
) -> None:
    hana = signed_in(app_client, "hana")
    response = hana.get("/documents/doc-pdf/file")
    assert response.status_code == 200
    assert response.content == PDF_BYTES
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["content-disposition"].startswith("inline")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert signed_in(app_client, "root").get("/documents/doc-pdf/file").status_code == 200


def test_a_document_outside_the_users_groups_is_not_found(
    app_client: tuple[TestClient, Services],
) -> None:
    alice = signed_in(app_client, "alice")
    response = alice.get("/documents/doc-pdf/file")
    assert response.status_code == 404
    assert response.json()["detail"] == "no such document"  # same as one that does not exist
    assert alice.get("/documents/no-such-doc/file").json()["detail"] == "no such document"
    assert alice.get("/documents/doc-md/file").status_code == 200  # no groups: everyone


def test_the_catalogs_current_groups_decide(
    app_client: tuple[TestClient, Services], docs: Path
) -> None:
    _, services = app_client
    alice = signed_in(app_client, "alice")
    catalogue(services, "doc-md", docs / "handbook.md", groups=("legal",))  # regrouped
    assert alice.get("/documents/doc-md/file").status_code == 404


def test_other_files_download_sandboxed(app_client: tuple[TestClient, Services]) -> None:
    alice = signed_in(app_client, "alice")
    md = alice.get("/documents/doc-md/file")
    assert md.headers["content-disposition"].startswith("attachment")
    assert md.headers["content-security-policy"] == "sandbox"
    html = alice.get("/documents/doc-html/file")
    assert html.status_code == 200
    assert html.headers["content-type"] == "application/octet-stream"  # never a page
    assert html.headers["content-disposition"].startswith("attachment")


@pytest.mark.parametrize(
    "doc_id",
    [
        "..%2F..%2F..%2Fetc%2Fpasswd",
        "%2Fetc%2Fpasswd",
        "doc-md%2F..%2Fdoc-pdf",
        "doc-md%00",
        "..",
    ],
)
def test_path_tricks_in_the_id_find_nothing(
    app_client: tuple[TestClient, Services], doc_id: str
) -> None:
    response = signed_in(app_client, "root").get(f"/documents/{doc_id}/file")
    assert response.status_code == 404
    assert b"root:" not in response.content and response.content != PDF_BYTES


def test_a_moved_missing_or_symlinked_file_is_not_served(
    app_client: tuple[TestClient, Services], docs: Path, tmp_path: Path
) -> None:
    _, services = app_client
    secret = tmp_path / "secret.txt"
    secret.write_text("not a document")
    (docs / "link.md").symlink_to(secret)
    catalogue(services, "doc-link", docs / "link.md")
    catalogue(services, "doc-gone", docs / "gone.md")
    catalogue(services, "doc-relative", Path("handbook.md"))
    root = signed_in(app_client, "root")
    for doc_id in ("doc-link", "doc-gone", "doc-relative"):
        response = root.get(f"/documents/{doc_id}/file")
        assert response.status_code == 404, doc_id
        assert "no longer available" in response.json()["detail"]


def test_a_document_that_is_not_searchable_is_for_admins_only(
    app_client: tuple[TestClient, Services], docs: Path
) -> None:
    _, services = app_client
    (docs / "broken.md").write_text("# Broken\n")
    services.catalog.record_failed("doc-bad", str(docs / "broken.md"), "could not parse")
    assert signed_in(app_client, "alice").get("/documents/doc-bad/file").status_code == 404
    assert signed_in(app_client, "root").get("/documents/doc-bad/file").status_code == 200


def test_anonymous_requests_are_refused(app_client: tuple[TestClient, Services]) -> None:
    client, _ = app_client
    assert client.get("/documents/doc-md/file").status_code == 401


def test_sources_link_to_the_original_file_at_the_page(
    app_client: tuple[TestClient, Services],
) -> None:
    _, services = app_client
    hana = signed_in(app_client, "hana")
    pdf = passage("Salary bands are reviewed yearly.", "Salaries", doc="doc-pdf", page=4)
    pdf = replace(pdf, source="/docs/salaries.pdf", headings=("Salaries", "Bands"))
    md = passage("Be kind.", "Handbook", doc="doc-md")
    user = services.accounts.find_user("hana")
    assert user is not None
    conversation = services.conversations.start(user.id, "Salary bands?")
    answer = make_answer("Salary bands?", "Reviewed yearly [1]. Be kind [2].", (pdf, md))
    services.conversations.record(user.id, conversation.id, answer)
    page = hana.get(f"/c/{conversation.id}").text
    assert 'href="/documents/doc-pdf/file#page=4"' in page
    assert "Open the original at page 4" in page
    assert "· Bands" in page  # the section beside the page
    assert 'href="/documents/doc-md/file"' in page  # not a PDF: no page fragment
