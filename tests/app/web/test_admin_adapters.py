"""The Adapters page of the admin console: the adapters docent knows with their base-model check,
training figures and scores; activating one (a worse or unmeasured one only when confirmed), or
going back to the model alone, switches the running generator, is stored in the app database
and written to the audit log; with a model server nothing can be switched."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from httpx import Response

from app.generation.adapter_choice import AdapterChoices
from app.generation.generator import FairQueue
from app.services import Services
from app.settings import Settings
from app.tuning.comparison import SetComparison, write_comparison
from app.tuning.gguf_adapter import write_adapter
from app.web import create_app
from tests.app import admining
from tests.app.signin import add_user, sign_in
from tests.app.tuning.test_gguf_adapter import LLAMA, PAIRS, QWEN
from tests.app.tuning.tiny import tiny_header
from tests.fakes import SwitchingGenerator

admin, admin_services = admining.admin, admining.admin_services
ROW = {
    "set": "all",
    "complete": 0.5,
    "citation_validity": 0.6,
    "out_of_scope_answered": 0.25,
    "first_token_p50_s": 1.4,
}


@pytest.fixture
def generator() -> SwitchingGenerator:
    return SwitchingGenerator(queue=FairQueue())


@pytest.fixture
def model(tmp_path: Path) -> Path:
    return tiny_header(tmp_path / "tiny.gguf")  # the chat model: "Tiny Llama"


@pytest.fixture
def admin_settings(tmp_path: Path, model: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", model_path=model, ingest_workers=0)


def _adapter(
    settings: Settings, run: str, scores: dict[str, float] | None = None, *, qwen: bool = False
) -> Path:
    """A run folder with its adapter, training.json and (given `scores`) an eval file whose
    answer set "dev" has the adapter at those figures, the model alone at ROW's."""
    folder = settings.data_dir / "tuning" / run
    folder.mkdir(parents=True)
    path = write_adapter(folder / "adapter.gguf", PAIRS, QWEN if qwen else LLAMA, alpha=8.0)
    report = {"finished": True, "examples": 42, "steps": 21, "last_loss": 0.731, "device": "cpu"}
    (folder / "training.json").write_text(json.dumps(report))
    if scores is not None:
        rows = {"base": ROW, "adapter.gguf": ROW | scores}
        held_out = SetComparison("held-out", 8, {"base": ROW, "adapter.gguf": ROW})
        write_comparison(path.with_suffix(".eval.json"), [held_out, SetComparison("dev", 40, rows)])
    return path


def _activate(client: TestClient, path: Path | None, **extra: str) -> Response:
    data = {"path": str(path) if path else ""} | extra
    return client.post("/admin/adapters/activate", data=data, follow_redirects=False)


def _audit(services: Services) -> list[tuple[str, str, str]]:
    return [
        (e.action, e.target, e.detail)
        for e in services.accounts.audit_entries()
        if e.action == "activate-adapter"
    ]


def test_the_page_lists_the_adapters_with_their_check_training_and_scores(
    admin: TestClient, admin_settings: Settings
) -> None:
    _adapter(admin_settings, "handbook", {"complete": 0.75, "citation_validity": 0.8})
    _adapter(admin_settings, "other-model", qwen=True)
    page = admin.get("/admin/adapters")
    assert page.status_code == 200
    html = page.text
    assert '<a href="/admin/adapters" aria-current="page">Adapters</a>' in html
    assert "In use: model alone" in html
    assert "<code>handbook/adapter.gguf</code>" in html
    assert "trained on the chat model in use" in html
    assert "examples 42" in html and "last loss 0.731" in html
    assert "dev: 40 questions" in html and "held-out: 8 questions" in html
    complete = '<td>complete</td><td class="num">0.5</td><td class="num">0.75 <span'
    assert complete in html and "▲ better" in html
    assert '<td>first token p50 s</td><td class="num">1.4</td><td class="num">1.4</td>' in html
    assert "<code>other-model/adapter.gguf</code>" in html
    assert "not for the chat model in use: the adapter adapter.gguf is for a qwen2 model" in html
    assert html.count('name="path" value="') == 1  # the other model's cannot be activated


def test_a_better_adapter_is_activated_stored_and_audited(
    admin: TestClient,
    admin_settings: Settings,
    admin_services: Services,
    generator: SwitchingGenerator,
) -> None:
    better = _adapter(admin_settings, "handbook", {"complete": 0.75})
    response = _activate(admin, better)
    assert response.status_code == 303
    assert generator.switches == [(better, True)]  # with a turn on the model held
    stored = AdapterChoices(admin_services.accounts.engine).current()
    assert stored is not None and (stored.path, stored.chosen_by) == (better, "boss")
    assert _audit(admin_services) == [("activate-adapter", "handbook/adapter.gguf", str(better))]
    page = admin.get("/admin/adapters").text
    assert "In use: handbook/adapter.gguf" in page and '<span class="tag">in use</span>' in page

    assert _activate(admin, None).status_code == 303
    assert generator.switches[-1] == (None, True)
    stored = AdapterChoices(admin_services.accounts.engine).current()
    assert stored is not None and stored.path is None
    assert _audit(admin_services)[0] == ("activate-adapter", "model alone", "model alone")


@pytest.mark.parametrize(
    ("scores", "reason"),
    [
        ({"complete": 0.75, "citation_validity": 0.5}, "worse than the model alone: citation"),
        ({"out_of_scope_answered": 0.5}, "worse than the model alone: out_of_scope_answered"),
        ({}, "it has no scores on an answer set"),
    ],
)
def test_a_worse_or_unmeasured_adapter_needs_confirming_first(
    admin: TestClient,
    admin_settings: Settings,
    admin_services: Services,
    generator: SwitchingGenerator,
    scores: dict[str, float],
    reason: str,
) -> None:
    path = _adapter(admin_settings, "handbook", scores or None)
    asked = _activate(admin, path)
    assert asked.status_code == 409
    assert reason in asked.text
    assert 'type="checkbox" name="confirm"' in asked.text
    assert generator.switches == [] and _audit(admin_services) == []
    assert AdapterChoices(admin_services.accounts.engine).current() is None

    confirmed = _activate(admin, path, confirm="true")
    assert confirmed.status_code == 303
    assert generator.switches == [(path, True)]
    detail = f"{path} (confirmed despite the scores)"
    assert _audit(admin_services) == [("activate-adapter", "handbook/adapter.gguf", detail)]


def test_an_adapter_of_another_model_or_an_unknown_file_is_refused(
    admin: TestClient,
    admin_settings: Settings,
    admin_services: Services,
    generator: SwitchingGenerator,
    model: Path,
) -> None:
    other = _adapter(admin_settings, "other-model", qwen=True)
    refused = _activate(admin, other, confirm="true")
    assert refused.status_code == 422
    assert "is for a qwen2 model" in refused.text
    unknown = _activate(admin, model, confirm="true")  # a file, but not a known adapter
    assert unknown.status_code == 422
    assert "no such adapter is known" in unknown.text
    assert generator.switches == [] and _audit(admin_services) == []


def _app_client(settings: Settings, services: Services) -> Iterator[TestClient]:
    with TestClient(create_app(settings, services)) as client:
        sign_in(client, "boss")
        yield client


def test_the_choice_outlives_a_restart_and_wins_over_docent_lora_path(
    admin_settings: Settings, admin_services: Services, generator: SwitchingGenerator
) -> None:
    first = _adapter(admin_settings, "first", {"complete": 0.75})
    second = _adapter(admin_settings, "second", {"complete": 0.75})
    add_user(admin_services.accounts, "boss", role="admin")
    env = admin_settings.model_copy(update={"lora_path": first})  # DOCENT_LORA_PATH=first
    generator.use_adapter(first)  # as load_generator loads it
    generator.switches.clear()
    for client in _app_client(env, admin_services):  # no choice yet: the variable decides
        assert generator.switches == []
        assert "From <code>DOCENT_LORA_PATH</code>" in client.get("/admin/adapters").text
        assert _activate(client, second).status_code == 303
    assert generator.adapter_path == second

    generator.use_adapter(first)  # a restart: the process starts with DOCENT_LORA_PATH again
    generator.switches.clear()
    for client in _app_client(env, admin_services):
        assert generator.switches == [(second, True)]  # the stored choice, at start
        assert (
            "this choice wins over <code>DOCENT_LORA_PATH</code>"
            in client.get("/admin/adapters").text
        )


def test_another_process_choice_is_followed(
    admin: TestClient,
    admin_settings: Settings,
    admin_services: Services,
    generator: SwitchingGenerator,
) -> None:
    path = _adapter(admin_settings, "handbook", {"complete": 0.75})
    AdapterChoices(admin_services.accounts.engine).choose(path, "another-process")
    follower = admin.app.state.admin.adapters  # type: ignore[attr-defined]
    follower.sync()  # what its poller does every few seconds
    assert generator.switches == [(path, True)]
    follower.sync()
    assert len(generator.switches) == 1  # followed once


def test_with_a_model_server_the_page_explains_and_switches_nothing(
    admin_settings: Settings, admin_services: Services, generator: SwitchingGenerator
) -> None:
    path = _adapter(admin_settings, "handbook", {"complete": 0.75})
    add_user(admin_services.accounts, "boss", role="admin")
    served = admin_settings.model_copy(update={"llm_url": "http://127.0.0.1:9/v1"})
    for client in _app_client(served, admin_services):
        page = client.get("/admin/adapters").text
        assert "llama-server --lora FILE" in page and "<code>handbook/adapter.gguf</code>" in page
        assert 'name="path"' not in page
        refused = _activate(client, path, confirm="true")
        assert refused.status_code == 422
    assert generator.switches == [] and _audit(admin_services) == []
