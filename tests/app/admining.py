"""An admin console to test: the app with fakes, 1 MB upload limit, parsing in this process,
prompt overrides where the console writes them; an admin signed in."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.documents.uploads import UploadQueue
from app.generation.prompting import Prompts
from app.services import Services
from app.settings import Settings
from app.web import create_app
from tests.app.signin import add_user, sign_in

HTMX = {"HX-Request": "true"}
MARKDOWN = b"# Leave\n\nEveryone gets twenty eight days of annual leave each year.\n"


@pytest.fixture
def admin_settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", max_file_mb=1, ingest_workers=0)


@pytest.fixture
def admin_services(services: Services, admin_settings: Settings) -> Services:
    live = Prompts(overrides=admin_settings.prompts_dir)
    return replace(services, answerer=replace(services.answerer, prompts=live))


@pytest.fixture
def admin(admin_settings: Settings, admin_services: Services) -> Iterator[TestClient]:
    """A client signed in as the admin `boss` (sends the CSRF header, as htmx does)."""
    add_user(admin_services.accounts, "boss", role="admin")
    with TestClient(create_app(admin_settings, admin_services)) as client:
        sign_in(client, "boss")
        yield client


def queue_of(client: TestClient) -> UploadQueue:
    queue: UploadQueue = client.app.state.admin.uploads  # type: ignore[attr-defined]
    return queue


def upload(
    client: TestClient, files: list[tuple[str, bytes]], **data: str | list[str]
) -> list[dict[str, object]]:
    """Post files to the JSON API's upload (the console's queue), wait until they are ingested;
    returns the jobs as they ended."""
    response = client.post(
        "/api/v1/documents", files=[("files", item) for item in files], data=data
    )
    assert response.status_code == 202, response.text
    queue = queue_of(client)
    assert queue.wait_idle(60)
    return [queue.get(str(job["id"])).as_dict() for job in response.json()["jobs"]]  # type: ignore[union-attr]
