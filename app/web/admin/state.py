"""What the admin console keeps for the app's lifetime: the upload queue, the prompt editor and
the adapter in use."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, FastAPI, Request

from app.documents.uploads import UploadQueue
from app.generation.prompt_versions import PromptEditor
from app.services import Services, ingest_options
from app.settings import Settings
from app.tuning.active import ActiveAdapter, active_adapter
from ingest.pipeline import IngestOptions


@dataclass
class AdminState:
    uploads: UploadQueue
    prompts: PromptEditor
    adapters: ActiveAdapter


def start(app: FastAPI) -> AdminState:
    """Build the admin state from the app's services (in the lifespan); resume unsaved uploads."""
    services: Services = app.state.services
    settings: Settings = app.state.settings
    metrics = getattr(app.state, "metrics", None)

    def options(groups: tuple[str, ...], force: bool, tags: tuple[str, ...]) -> IngestOptions:
        return ingest_options(settings, groups, force=force, tags=tags)

    uploads = UploadQueue(
        settings.data_dir / "uploads",
        engine=services.accounts.engine,
        embedder=services.embedder,
        store=services.store,
        catalog=services.catalog,
        options=options,
        on_result=metrics.observe_ingest if metrics is not None else None,
    )
    prompts = PromptEditor(
        services.accounts.engine, settings.prompts_dir, services.answerer.prompts
    )
    adapters = active_adapter(settings, services)
    app.state.admin = AdminState(uploads, prompts, adapters)
    uploads.recover()
    adapters.start()  # the adapter chosen in the console, if any, instead of DOCENT_LORA_PATH
    return app.state.admin


def stop(app: FastAPI) -> None:
    """Let the file being ingested finish before the services close."""
    state: AdminState | None = getattr(app.state, "admin", None)
    if state is not None:
        state.adapters.close()
        state.uploads.close()


def admin_state(request: Request) -> AdminState:
    state: AdminState = request.app.state.admin
    return state


AdminDep = Annotated[AdminState, Depends(admin_state)]
