"""One bad file never stops the batch, and each gets a reason a person can act on."""

from __future__ import annotations

import os
import zipfile
from dataclasses import replace
from pathlib import Path

import pytest
from fpdf import FPDF
from pypdf import PdfWriter

from ingest.catalog import Catalog
from ingest.guards import check_file
from ingest.parse import ParseError
from ingest.pipeline import IngestOptions, ingest_paths
from ingest.store import QdrantStore
from tests.fakes import FakeEmbedder

OPTIONS = IngestOptions(chunk_tokens=40, chunk_overlap=5, max_file_bytes=1 << 20)


def _pdf(path: Path, text: str) -> None:
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", size=12)
    pdf.set_y(60)
    pdf.multi_cell(0, 10, text)
    pdf.output(str(path))


def _zip_bomb(path: Path) -> None:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr(
            "word/document.xml", b"\0" * (600 << 20)
        )  # 600 MB of zeros, ~600 KB packed


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Path:
    docs = tmp_path_factory.mktemp("hostile")
    (docs / "good.md").write_text("# Good\n\nThe canteen opens at noon on weekdays.\n")
    _pdf(docs / "plain.pdf", "Salary bands are reviewed every March.")
    writer = PdfWriter(clone_from=docs / "plain.pdf")
    writer.encrypt("hunter2")
    writer.write(docs / "encrypted.pdf")
    (docs / "plain.pdf").unlink()
    _pdf(docs / "whole.pdf", "A document that will be cut in half.")
    data = (docs / "whole.pdf").read_bytes()
    (docs / "truncated.pdf").write_bytes(data[: len(data) // 2])
    (docs / "whole.pdf").unlink()
    _zip_bomb(docs / "bomb.docx")
    (docs / "random.docx").write_bytes(os.urandom(4096))
    (docs / "binary.txt").write_bytes(os.urandom(4096))
    (docs / "empty.md").write_bytes(b"")
    (docs / "huge.txt").write_text("all work and no play " * 100_000)  # ~2 MB > the 1 MB limit
    (docs / "notes.xyz").write_text("an unknown format")
    return docs


def test_hostile_batch_reports_every_file_and_ingests_the_good_one(
    hostile: Path, embedder: FakeEmbedder, store: QdrantStore, catalog: Catalog
) -> None:
    results = ingest_paths(
        [hostile], embedder=embedder, store=store, catalog=catalog, options=OPTIONS
    )
    by_name = {Path(r.source).name: r for r in results}
    expected = {
        "good.md": ("new", ""),
        "encrypted.pdf": ("failed", "encrypted (password-protected) PDF"),
        "bomb.docx": ("failed", "zip bomb"),
        "random.docx": ("failed", "not a valid .docx file"),
        "binary.txt": ("failed", "binary content in a .txt file"),
        "empty.md": ("failed", "empty file (0 bytes)"),
        "huge.txt": ("skipped", "over the 1.0 MB limit"),
        "notes.xyz": ("skipped", "unsupported file type .xyz"),
        "truncated.pdf": ("failed", ""),
    }
    assert set(by_name) == set(expected)
    for name, (status, reason) in expected.items():
        assert by_name[name].status == status, (name, by_name[name])
        assert reason in (by_name[name].reason or ""), (name, by_name[name].reason)
    assert by_name["truncated.pdf"].reason  # some reason, whatever the parser found
    assert store.count() == by_name["good.md"].chunks
    statuses = {Path(r.source).name: r.status for r in catalog.all()}
    assert statuses["good.md"] == "ok" and statuses["huge.txt"] == "skipped"
    assert statuses["bomb.docx"] == "failed"


def test_a_bad_new_version_keeps_the_last_good_one_searchable(
    tmp_path: Path, embedder: FakeEmbedder, store: QdrantStore, catalog: Catalog
) -> None:
    doc = tmp_path / "policy.md"
    doc.write_text("# Policy\n\nThe canteen opens at noon on weekdays.\n")
    ingest_paths([doc], embedder=embedder, store=store, catalog=catalog, options=OPTIONS)
    doc.write_bytes(b"\0\0\0 corrupted")

    [result] = ingest_paths([doc], embedder=embedder, store=store, catalog=catalog, options=OPTIONS)

    assert result.status == "failed"
    [record] = catalog.all()
    assert record.status == "ok" and "binary content" in (record.error or "")
    assert len(store.document_chunks(record.doc_id, record.version)) == record.chunk_count


def test_size_limit_is_checked_before_anything_else(tmp_path: Path) -> None:
    big = tmp_path / "big.pdf"
    big.write_bytes(b"x" * 2048)
    with pytest.raises(ParseError, match="over the"):
        check_file(big, max_bytes=1024)


def test_workers_apply_the_same_guards(
    hostile: Path, embedder: FakeEmbedder, store: QdrantStore, catalog: Catalog
) -> None:
    results = ingest_paths(
        [hostile / "bomb.docx", hostile / "good.md"],
        embedder=embedder,
        store=store,
        catalog=catalog,
        options=replace(OPTIONS, workers=1),
    )
    assert [(Path(r.source).name, r.status) for r in results] == [
        ("bomb.docx", "failed"),
        ("good.md", "new"),
    ]
