"""`docent ask` answers with the adapter an admin chose in the console, as the web app does:
the stored choice wins over DOCENT_LORA_PATH, and "the model alone" takes the adapter off."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.cli.main import cli
from app.generation.adapter_choice import AdapterChoices
from app.generation.generator import FairQueue
from app.services import Services
from app.tuning.gguf_adapter import write_adapter
from tests.app.tuning.test_gguf_adapter import LLAMA, PAIRS
from tests.app.tuning.tiny import tiny_header
from tests.fakes import SwitchingGenerator

runner = CliRunner()


@pytest.fixture
def switching(
    services: Services, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[Services, SwitchingGenerator, Path]:
    """`ask` builds these services (a generator that records its adapter switches) from a
    DATA_DIR whose chat model is "Tiny Llama" and which holds one adapter trained on it."""
    generator = SwitchingGenerator(queue=FairQueue())
    services = replace(
        services, generator=generator, answerer=replace(services.answerer, generator=generator)
    )
    data = tmp_path / "data"
    (data / "tuning" / "run").mkdir(parents=True)
    adapter = write_adapter(data / "tuning" / "run" / "adapter.gguf", PAIRS, LLAMA, alpha=8.0)
    monkeypatch.setenv("DOCENT_DATA_DIR", str(data))
    monkeypatch.setenv("DOCENT_MODEL_PATH", str(tiny_header(tmp_path / "tiny.gguf")))
    monkeypatch.setattr("app.services.build_services", lambda settings: services)
    return services, generator, adapter


def _ask() -> dict[str, object]:
    result = runner.invoke(cli, ["ask", "How many days a week can I work from home?", "--json"])
    assert result.exit_code == 0, result.output
    answer: dict[str, object] = json.loads(result.stdout)
    return answer


def test_ask_answers_with_the_adapter_chosen_in_the_console(
    switching: tuple[Services, SwitchingGenerator, Path],
) -> None:
    services, generator, adapter = switching
    AdapterChoices(services.accounts.engine).choose(adapter, "boss")
    answer = _ask()
    assert generator.switches == [(adapter, True)]  # between answers, holding a turn
    assert answer["adapter"] == "adapter.gguf"


def test_ask_without_a_choice_keeps_what_it_started_with(
    switching: tuple[Services, SwitchingGenerator, Path],
) -> None:
    _, generator, _ = switching
    answer = _ask()
    assert generator.switches == []
    assert not answer.get("adapter")


def test_the_model_alone_chosen_in_the_console_takes_the_adapter_off(
    switching: tuple[Services, SwitchingGenerator, Path],
) -> None:
    services, generator, adapter = switching
    generator.use_adapter(adapter)  # as if DOCENT_LORA_PATH had loaded it at start
    AdapterChoices(services.accounts.engine).choose(None, "boss")
    answer = _ask()
    assert generator.switches[-1] == (None, True)
    assert not answer.get("adapter")
