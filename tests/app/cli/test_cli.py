from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.cli.main import cli
from ingest.catalog import Catalog, OkRecord

runner = CliRunner()


def test_config_prints_settings_and_masks_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCENT_HUB_TOKEN", "hf_supersecret")
    monkeypatch.setenv("DOCENT_TOP_K", "7")
    result = runner.invoke(cli, ["config"])
    assert result.exit_code == 0, result.output
    assert "DOCENT_TOP_K=7" in result.output
    assert "hf_supersecret" not in result.output
    assert "DOCENT_HUB_TOKEN=**********" in result.output


def test_invalid_settings_are_refused_with_the_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCENT_CHUNK_TOKENS", "50")
    monkeypatch.setenv("DOCENT_CHUNK_OVERLAP", "50")
    result = runner.invoke(cli, ["config"])
    assert result.exit_code == 2
    assert "chunk_overlap" in result.output


def test_model_list_shows_the_catalog_and_the_configured_model() -> None:
    result = runner.invoke(cli, ["model", "list"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "qwen2.5-7b-instruct (configured)" in result.output
    assert "qwen2.5-coder-1.5b-instruct" in result.output


def test_model_pull_with_a_model_path_downloads_nothing(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    gguf = tmp_path / "mine.gguf"
    gguf.write_bytes(b"GGUF")
    monkeypatch.setenv("DOCENT_MODEL_PATH", str(gguf))
    monkeypatch.setenv("DOCENT_HUB_URL", "http://127.0.0.1:9")  # would fail if contacted
    result = runner.invoke(cli, ["model", "pull"])
    assert result.exit_code == 0, result.output
    assert "DOCENT_MODEL_PATH is set" in result.output


def test_ask_without_a_model_explains_how_to_get_one() -> None:
    result = runner.invoke(
        cli, ["ask", "anything?"], env={"DOCENT_MODEL": "qwen2.5-3b-instruct", "COLUMNS": "200"}
    )
    assert result.exit_code == 1
    assert "docent model pull qwen2.5-3b-instruct" in result.output


def test_docs_list_shows_catalog_rows(tmp_path: Path) -> None:
    catalog = Catalog(tmp_path / "data" / "docent.sqlite3")
    catalog.record_ok(OkRecord("d1", "/docs/handbook.md", "Handbook", "abc", "v1", "p", 12, 4, ()))
    catalog.record_failed("d2", "/docs/broken.pdf", "no text found")
    catalog.close()
    result = runner.invoke(cli, ["docs", "list"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "Handbook" in result.output
    assert "failed: no text found" in result.output
