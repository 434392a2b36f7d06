"""A cited passage on its page: the page picture is served only to those who may read the
document (rendered once, then from the cache), and the source panel outlines the supporting
span's lines on it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from app.answering.support import Span
from app.services import Services
from app.settings import Settings
from app.web import create_app
from app.web.render import page_view
from ingest.catalog import OkRecord
from ingest.types import Region
from tests.app.sample import passage
from tests.app.signin import add_user, sign_in
from tests.ingest.scans import save_pdf


def catalogue(
    services: Services, doc_id: str, path: Path, pages: int, groups: tuple[str, ...]
) -> None:
    services.catalog.record_ok(
        OkRecord(doc_id, str(path), path.stem, "hash-" + doc_id, "v1", "p1", 1, pages, groups)
    )


@pytest.fixture
def client(settings: Settings, services: Services, tmp_path: Path) -> Iterator[TestClient]:
    folder = tmp_path / "docs"
    folder.mkdir()
    scan = Image.new("RGB", (400, 300), (250, 250, 250))
    scan.save(folder / "notice.png")
    save_pdf([scan, Image.new("RGB", (200, 300), "white")], folder / "contract.pdf", dpi=100)
    catalogue(services, "doc-png", folder / "notice.png", 1, ())
    catalogue(services, "doc-pdf", folder / "contract.pdf", 2, ("legal",))
    add_user(services.accounts, "alice")
    add_user(services.accounts, "lena", groups=("legal",))
    with TestClient(create_app(settings, services)) as app_client:
        yield app_client


def as_user(client: TestClient, username: str) -> TestClient:
    signed = TestClient(client.app)
    sign_in(signed, username)
    return signed


def test_a_page_picture_is_served_to_readers_and_cached(
    client: TestClient, settings: Settings
) -> None:
    lena = as_user(client, "lena")
    response = lena.get("/documents/doc-pdf/pages/2.png")
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    assert response.content.startswith(b"\x89PNG")
    cached = sorted(p.name for p in settings.page_pictures_dir.glob("*.png"))
    assert cached == ["hash-doc-pdf-2.png"]
    assert lena.get("/documents/doc-pdf/pages/2.png").content == response.content
    assert lena.get("/documents/doc-png/pages/1.png").status_code == 200


def test_a_page_picture_is_not_found_for_others_or_past_the_last_page(client: TestClient) -> None:
    alice = as_user(client, "alice")
    refused = alice.get("/documents/doc-pdf/pages/1.png")
    assert refused.status_code == 404 and refused.json()["detail"] == "no such document"
    lena = as_user(client, "lena")
    assert lena.get("/documents/doc-pdf/pages/3.png").status_code == 404
    assert lena.get("/documents/doc-png/pages/2.png").status_code == 404
    assert TestClient(client.app).get("/documents/doc-png/pages/1.png").status_code in (401, 303)


def test_the_outline_covers_the_supporting_spans_lines_on_its_page() -> None:
    text = "Annual leave is 25 days. Requests go to your manager."
    first, second = (0, 24), (25, len(text))
    cited = replace(
        passage(text, doc="scan", page=3),
        source="/docs/scan.pdf",
        start=100,
        end=100 + len(text),
        regions=(
            Region(100 + first[0], 100 + first[1], 3, (0.1, 0.2, 0.5, 0.25)),
            Region(100 + second[0], 100 + second[1], 3, (0.1, 0.3, 0.6, 0.35)),
        ),
    )
    view = page_view(cited, Span(*second))
    assert view is not None and view.page == 3
    assert view.picture == "/documents/scan/pages/3.png"
    assert view.boxes == ((9.7, 29.7, 50.6, 5.6),)  # the second line only, a little wider
    assert len(page_view(cited, None).boxes) == 2  # type: ignore[union-attr]
    assert page_view(replace(cited, source="/docs/scan.md"), None) is None
    assert page_view(replace(cited, regions=()), None) is None
