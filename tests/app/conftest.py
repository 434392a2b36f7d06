"""Layered fixtures for the app's tests, each built on the one before:

settings, services with fakes (tests/conftest.py) -> `app` (create_app) -> `anonymous` (a
client of the running app, signed out) -> `client` (the remote-work policy ingested, alice
signed in). A module that needs other services overrides `services`; one that needs other
settings overrides `settings`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.services import Services
from app.settings import Settings
from app.web import create_app
from tests.app.sample import ingest_remote_work
from tests.app.signin import add_user, sign_in


@pytest.fixture
def app(settings: Settings, services: Services) -> FastAPI:
    return create_app(settings, services)


@pytest.fixture
def anonymous(app: FastAPI) -> Iterator[TestClient]:
    """The app started (its lifespan run) and a client that has not signed in."""
    with TestClient(app) as client:
        yield client


@pytest.fixture
def client(app: FastAPI, services: Services, tmp_path: Path) -> Iterator[TestClient]:
    """alice, a member with no groups, signed in; the remote-work policy is in the store."""
    ingest_remote_work(services, tmp_path)
    add_user(services.accounts, "alice")
    with TestClient(app) as client:
        sign_in(client, "alice")
        yield client
