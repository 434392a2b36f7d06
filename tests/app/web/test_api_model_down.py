"""/api/v1/ask when the model cannot answer: 503 with the reason, never a 500."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from fastapi.testclient import TestClient

from app.services import Services
from app.settings import Settings
from app.web import create_app
from tests.app.sample import ingest_remote_work
from tests.app.signin import add_user
from tests.fakes import UNREACHABLE, UnreachableGenerator


def test_json_api_says_the_model_is_unreachable(
    settings: Settings, services: Services, tmp_path: Path
) -> None:
    ingest_remote_work(services, tmp_path)
    down = UnreachableGenerator()
    broken = replace(services, answerer=replace(services.answerer, generator=down))
    user = add_user(services.accounts, "api-user")
    token = services.accounts.issue_api_token(user.id, "test")
    with TestClient(create_app(settings, broken)) as client:
        response = client.post(
            "/api/v1/ask",
            json={"question": "How many days may employees work remotely?"},
            headers={"Authorization": f"Bearer {token}"},
        )
    assert response.status_code == 503
    assert response.json()["detail"] == UNREACHABLE
    assert len(down.calls) == 1
