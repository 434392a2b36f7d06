"""Scanned documents uploaded by an admin, read by the real OCR engine: a scanned PDF, a PNG
photo of a page and a Word file holding a scan are ingested; a question about them is answered
and cited, and the source shows the cited lines outlined on the page picture."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from app.services import Services
from tests.app import admining
from tests.app.admining import upload
from tests.fakes import FakeGenerator
from tests.ingest.scans import FIRE, LEAVE, docx_with_scan, save_pdf, scanned

pytestmark = pytest.mark.slow
admin, admin_settings, admin_services = (
    admining.admin,
    admining.admin_settings,
    admining.admin_services,
)
PARKING = ("Visitors park in bays 40 to 48.", "Staff badges open the barrier.")


def _bytes(image: Image.Image, kind: str) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, kind)
    return buffer.getvalue()


def test_scans_are_uploaded_read_cited_and_outlined_on_their_page(
    admin: TestClient, admin_services: Services, tmp_path: Path
) -> None:
    pdf = save_pdf([scanned(LEAVE, rotate=1.5, noise=0.01, seed=2)], tmp_path / "leave.pdf")
    docx = docx_with_scan(tmp_path / "parking.docx", "Parking", scanned(PARKING))
    files = [
        ("leave-scan.pdf", pdf.read_bytes()),
        ("fire-notice.png", _bytes(scanned(FIRE, noise=0.01, seed=3), "PNG")),
        ("parking.docx", docx.read_bytes()),
    ]
    jobs = upload(admin, files)
    assert [(job["state"], job["outcome"]) for job in jobs] == [("done", "new")] * 3, jobs

    generator: FakeGenerator = admin_services.answerer.generator  # type: ignore[assignment]
    generator.enqueue("Annual leave is 25 working days per year [1].")
    page = admin.post("/ask", data={"question": "How many days of annual leave per year?"}).text

    assert "leave-scan.pdf" in page
    picture = re.search(r'<img src="(/documents/[^"]+/pages/1\.png)"', page)
    assert picture, "the source shows no page picture"
    rects = re.findall(r'<rect x="([\d.]+)" y="([\d.]+)" width="([\d.]+)" height="([\d.]+)"', page)
    assert rects, "nothing outlined on the page"
    x, y, width, height = (float(v) for v in rects[0])
    assert 0 < x < 30 and 0 < y < 60 and width > 20 and 0 < height < 20  # the first line
    served = admin.get(picture.group(1))
    assert served.status_code == 200 and served.content.startswith(b"\x89PNG")
