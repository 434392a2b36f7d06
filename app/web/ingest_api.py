"""`POST /api/v1/ingest`: the CLI's ingestion, run by the web app that holds the store."""

from __future__ import annotations

import json
import queue
import threading
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from app.metrics import Metrics
from app.services import Services, ingest_options
from app.web.auth import OperatorOnly
from app.web.deps import ServicesDep
from ingest.pipeline import IngestOptions, IngestResult, expand_paths, ingest_paths

router = APIRouter(prefix="/api/v1")
_running = threading.Lock()  # one ingestion at a time; questions go on meanwhile


class IngestRequest(BaseModel):
    paths: list[str] = Field(min_length=1, description="Absolute paths on the server's machine")
    groups: list[str] = []
    tags: list[str] = []
    sync: bool = False
    dry_run: bool = False
    workers: int = Field(1, ge=0, le=16)


@router.post("/ingest", include_in_schema=False, dependencies=[OperatorOnly])
def ingest(body: IngestRequest, request: Request, services: ServicesDep) -> StreamingResponse:
    """NDJSON lines: {"event": "total"}, one {"event": "result"} per file, {"event": "done"}.

    Policy: OperatorOnly (loopback plus the operator token), not a user account.
    """
    paths = [Path(p) for p in body.paths]
    if not all(p.is_absolute() for p in paths):
        raise HTTPException(422, "paths must be absolute")
    if not _running.acquire(blocking=False):
        raise HTTPException(409, "an ingestion is already running on this server")
    try:
        options = ingest_options(
            request.app.state.settings,
            tuple(body.groups),
            workers=body.workers,
            sync=body.sync,
            dry_run=body.dry_run,
            tags=tuple(body.tags),
        )
        events = _start(paths, options, services, request.app.state.metrics)
    except BaseException:
        _running.release()
        raise
    return StreamingResponse(_lines(events), media_type="application/x-ndjson")


Event = dict[str, object] | None  # None: the ingestion ended


def _start(
    paths: list[Path], options: IngestOptions, services: Services, metrics: Metrics
) -> queue.Queue[Event]:
    """Run the ingestion in a thread that owns the lock (taken by the caller) and always releases
    it: whether the client reads the stream to the end, goes away early, or never starts reading,
    and whatever counting or ingesting raises. The files are counted in that thread too."""
    events: queue.Queue[Event] = queue.Queue()

    def counted(result: IngestResult) -> None:  # counted even if the client went away
        metrics.observe_ingest(result, dry_run=options.dry_run)
        events.put({"event": "result"} | asdict(result))

    def work() -> None:
        try:
            events.put({"event": "total", "files": sum(1 for _ in expand_paths(paths))})
            ingest_paths(
                paths,
                embedder=services.embedder,
                store=services.store,
                catalog=services.catalog,
                options=options,
                on_result=counted,
            )
            events.put({"event": "done"})
        except BaseException as exc:  # reported to the client, never lost
            events.put({"event": "error", "message": f"{type(exc).__name__}: {exc}"})
        finally:
            _running.release()
            events.put(None)

    threading.Thread(target=work, name="ingest", daemon=True).start()
    return events


def _lines(events: queue.Queue[Event]) -> Iterator[str]:
    while (event := events.get()) is not None:
        yield _line(event)


def _line(data: dict[str, object]) -> str:
    return json.dumps(data) + "\n"
