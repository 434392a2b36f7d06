"""`docent ingest` run directly: its files are a batch of job rows in the app database, run by
the same worker loop as uploads, with per-file progress and errors any process can read; the
command still shows its progress, its per-file errors and its summary, and exits 1 when a file
failed."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.accounts.db import make_engine
from app.cli.main import cli
from app.documents.catalog import DatabaseCatalog
from app.documents.jobs import JobTable, UploadJob
from app.settings import Settings
from tests.fakes import FakeEmbedder


@pytest.fixture
def embedder(monkeypatch: pytest.MonkeyPatch) -> FakeEmbedder:
    """The command's embedder is a fake that records what it embedded."""
    from app import services

    fake = FakeEmbedder()
    monkeypatch.setattr(services, "load_embedder", lambda settings: fake)
    return fake


@pytest.fixture
def table() -> Iterator[JobTable]:
    """The job rows as another process sees them: its own engine on the app database."""
    settings = Settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.database_url)
    yield JobTable(engine)
    engine.dispose()


def _docs(tmp_path: Path) -> Path:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "leave.md").write_text("# Leave\n\nEveryone gets twenty eight days of annual leave.\n")
    (docs / "canteen.md").write_text("# Canteen\n\nThe canteen opens at noon on weekdays.\n")
    return docs


def _ingest(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["ingest", "--workers", "0", *args])
    return result.exit_code, result.output


def _batch_rows(table: JobTable) -> dict[str, UploadJob]:
    """The rows of the newest batch, by file name."""
    newest = table.newest(1000)
    batch = newest[0].batch
    assert batch is not None
    return {job.filename: job for job in table.batch(batch)}


def test_a_folder_is_one_batch_of_rows_with_each_files_outcome(
    tmp_path: Path, embedder: FakeEmbedder, table: JobTable
) -> None:
    docs = _docs(tmp_path)
    code, output = _ingest(str(docs), "--group", "hr")
    assert code == 0, output
    assert "Ingestion summary" in output
    rows = _batch_rows(table)
    assert set(rows) == {"leave.md", "canteen.md"}
    assert {(j.kind, j.state, j.outcome, j.groups) for j in rows.values()} == {
        ("ingest", "done", "new", ("hr",))
    }
    assert all(j.chunks > 0 and j.source == str((docs / n).resolve()) for n, j in rows.items())
    catalog = DatabaseCatalog(table.engine, Settings().data_dir)
    assert sorted(r.status for r in catalog.all()) == ["ok", "ok"]
    assert "twenty eight days" in " ".join(embedder.embedded_texts)

    code, output = _ingest(str(docs), "--group", "hr")  # a second batch: nothing changed
    assert code == 0, output
    assert {j.outcome for j in _batch_rows(table).values()} == {"unchanged"}


def test_bad_files_are_reported_per_file_and_the_rest_of_the_batch_goes_on(
    tmp_path: Path, embedder: FakeEmbedder, table: JobTable
) -> None:
    docs = _docs(tmp_path)
    (docs / "random.docx").write_bytes(os.urandom(4096))
    (docs / "notes.xyz").write_text("an unknown format")
    (docs / "gone.md").symlink_to(tmp_path / "nowhere.md")
    odd = os.fsencode(docs) + b"/caf\xe9.md"  # a name that is not UTF-8
    with open(odd, "wb") as handle:
        handle.write(b"# Cafe\n\nNot UTF-8 in its name.\n")
    code, output = _ingest(str(docs))
    assert code == 1, output  # a file failed
    assert "failed" in output and "random.docx" in output  # the per-file error line
    assert "Not ingested" in output  # the summary's table of reasons
    rows = _batch_rows(table)
    assert rows["leave.md"].state == rows["canteen.md"].state == "done"
    assert (rows["random.docx"].state, rows["random.docx"].outcome) == ("failed", "failed")
    assert rows["random.docx"].reason
    assert (rows["notes.xyz"].outcome, rows["gone.md"].outcome) == ("skipped", "skipped")
    assert "broken symbolic link" in (rows["gone.md"].reason or "")
    odd_row = next(j for name, j in rows.items() if name.startswith("caf"))
    assert (odd_row.state, odd_row.outcome, odd_row.path) == ("failed", "skipped", None)
    catalog = DatabaseCatalog(table.engine, Settings().data_dir)
    assert sum(r.status == "ok" for r in catalog.all()) == 2  # the good files are in


def test_sync_removes_documents_whose_files_are_gone_after_the_batch(
    tmp_path: Path, embedder: FakeEmbedder, table: JobTable
) -> None:
    docs = _docs(tmp_path)
    assert _ingest(str(docs))[0] == 0
    (docs / "canteen.md").unlink()
    (docs / "leave.md").rename(docs / "holidays.md")  # moved: kept, not removed
    code, output = _ingest(str(docs), "--sync")
    assert code == 0, output
    rows = _batch_rows(table)
    assert rows["holidays.md"].outcome == "moved"
    assert (rows["canteen.md"].kind, rows["canteen.md"].outcome) == ("remove", "removed")
    assert rows["(documents whose files are gone)"].state == "done"
    catalog = DatabaseCatalog(table.engine, Settings().data_dir)
    assert [Path(r.source).name for r in catalog.all()] == ["holidays.md"]


def test_a_dry_run_queues_nothing(tmp_path: Path, embedder: FakeEmbedder, table: JobTable) -> None:
    docs = _docs(tmp_path)
    code, output = _ingest(str(docs), "--dry-run")
    assert code == 0, output
    assert "What ingestion would do" in output
    assert table.newest(10) == []


def test_docs_reindex_is_a_batch_that_embeds_again(
    tmp_path: Path, embedder: FakeEmbedder, table: JobTable
) -> None:
    docs = _docs(tmp_path)
    assert _ingest(str(docs), "--group", "hr", "--tag", "policy")[0] == 0
    embedded = len(embedder.embedded_texts)
    result = CliRunner().invoke(cli, ["docs", "reindex", "--all"])
    assert result.exit_code == 0, result.output
    rows = _batch_rows(table)
    assert {(j.outcome, j.force, j.groups, j.tags) for j in rows.values()} == {
        ("updated", True, ("hr",), ("policy",))
    }
    assert len(embedder.embedded_texts) > embedded
