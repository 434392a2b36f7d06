"""The web app: `create_app(settings, services=None)`; uvicorn runs it via `app.web:factory`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from app.accounts.operator_token import ensure_token
from app.logs import configure_logging
from app.metrics import Metrics, instrumented
from app.paths import STATIC_DIR
from app.private import owner_only_files
from app.services import Services, build_services
from app.settings import Settings
from app.web import (
    admin,
    api,
    auth,
    chat,
    conversations,
    documents_api,
    errors,
    files,
    ingest_api,
    login,
    metrics_api,
    openai_api,
    page_pictures,
)
from app.web.allowed_hosts import AllowedHostsMiddleware
from app.web.asking import InFlight
from app.web.body_limit import BodyLimitMiddleware
from app.web.logging_mw import RequestLogMiddleware
from app.web.pending import PendingQuestions
from app.web.security_headers import SecurityHeadersMiddleware


def create_app(settings: Settings, services: Services | None = None) -> FastAPI:
    """The ASGI app; heavy services are built in the lifespan unless passed in (tests)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = services is None
        app.state.services = services or build_services(settings)
        app.state.services = instrumented(app.state.services, metrics)  # counts answers
        app.state.operator_token = ensure_token(settings.data_dir)
        admin.start(app)  # the upload queue and the prompt editor
        try:
            yield
        finally:
            admin.stop(app)  # the file being ingested finishes first
            if owned:
                app.state.services.close()

    docs = settings.api_docs  # Swagger UI and ReDoc come from a CDN: off unless asked for
    app = FastAPI(
        title="docent",
        version="0.1.0",
        lifespan=lifespan,
        docs_url="/docs" if docs else None,
        redoc_url="/redoc" if docs else None,
    )
    app.state.settings = settings
    app.state.metrics = metrics = Metrics()  # this app's own registry
    app.add_middleware(BodyLimitMiddleware, settings=settings)  # inside: runs after the others
    app.add_middleware(SecurityHeadersMiddleware, api_docs=docs)  # on 413s too
    app.add_middleware(AllowedHostsMiddleware, settings=settings)  # before anything runs
    app.add_middleware(RequestLogMiddleware, metrics=metrics)  # the last added runs first
    app.state.pending = PendingQuestions()
    app.state.in_flight = InFlight(settings.max_queued_per_user)  # each user's answers at once
    app.mount("/static", StaticFiles(directory=STATIC_DIR, check_dir=False), name="static")
    auth.install(app)
    errors.install(app)
    app.include_router(login.router)
    app.include_router(chat.router)
    app.include_router(conversations.router)
    app.include_router(files.router)
    app.include_router(page_pictures.router)
    app.include_router(api.router)
    app.include_router(ingest_api.router)
    app.include_router(admin.router)
    app.include_router(documents_api.router)
    openai_api.install(app)
    app.include_router(metrics_api.router)
    return app


def factory() -> FastAPI:
    """Entry point for `uvicorn --factory app.web:factory` (settings from the environment)."""
    owner_only_files()  # before anything is written under DATA_DIR
    settings = Settings()
    configure_logging(settings.log_format, settings.log_level)
    return create_app(settings)
