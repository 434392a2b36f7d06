"""`docent ask` prints an answer asked for again (see app.answering.yes_denied) after the text
it streamed first, and says why."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.answering.grounding import GroundingOptions
from app.answering.yes_denied import REASKED
from app.cli.main import cli
from app.services import Services
from tests.app.sample import ingest_text
from tests.app.tuning.tiny import tiny_header
from tests.fakes import FakeGenerator


def test_ask_prints_the_second_answer_under_its_reason(
    services: Services, generator: FakeGenerator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ingest_text(services, tmp_path / "abroad.md", "# Abroad\n\nStaff may not work from abroad.\n")
    options = replace(services.answerer.options, grounding=GroundingOptions())
    plain = replace(services, answerer=replace(services.answerer, options=options))
    monkeypatch.setenv("DOCENT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("DOCENT_MODEL_PATH", str(tiny_header(tmp_path / "tiny.gguf")))
    monkeypatch.setattr("app.services.build_services", lambda settings: plain)
    generator.doubt = 0.1
    generator.enqueue("Yes, staff can work from abroad [1].", "No, staff may not go abroad [1].")

    result = CliRunner().invoke(cli, ["ask", "Can staff work from abroad?"])

    assert result.exit_code == 0, result.output
    first, _, rest = result.stdout.partition("Asked again")
    assert "Yes, staff can work from abroad [1]." in first
    assert f"docent asked the model again: {REASKED}." in " ".join(rest.split())
    assert "No, staff may not go abroad [1]." in rest
