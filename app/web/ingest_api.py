"""`POST /api/v1/ingest`: the CLI's ingestion, queued as a batch of job rows that the app's
worker loop runs (one writer: the same loop as uploads), its results streamed as they finish.

The batch goes on when the client goes away (the rows stay, the worker runs them, any app
process can show them). A dry run changes nothing: it is planned right here, not queued.
"""

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

from app.documents.batches import Batch, BatchRequest, results, submit
from app.documents.worker import JobWorker
from app.metrics import Metrics
from app.services import Services, ingest_options
from app.web.admin.state import AdminDep
from app.web.auth import OperatorOnly
from app.web.deps import ServicesDep
from ingest.pipeline import IngestOptions, IngestResult, expand_paths, ingest_paths

router = APIRouter(prefix="/api/v1")
POLL_SECONDS = 0.2  # how often the stream reads the batch's rows


class IngestRequest(BaseModel):
    paths: list[str] = Field(min_length=1, description="Absolute paths on the server's machine")
    groups: list[str] = []
    tags: list[str] = []
    sync: bool = False
    dry_run: bool = False
    workers: int = Field(1, ge=0, le=16)


@router.post("/ingest", include_in_schema=False, dependencies=[OperatorOnly])
def ingest(
    body: IngestRequest, request: Request, services: ServicesDep, admin: AdminDep
) -> StreamingResponse:
    """NDJSON lines: {"event": "total"}, one {"event": "result"} per file, {"event": "done"}
    ({"event": "error"} if listing the files fails).

    Policy: OperatorOnly (loopback plus the operator token), not a user account.
    """
    paths = [Path(p) for p in body.paths]
    if not all(p.is_absolute() for p in paths):
        raise HTTPException(422, "paths must be absolute")
    if body.dry_run:
        options = ingest_options(
            request.app.state.settings,
            tuple(body.groups),
            workers=body.workers,
            sync=body.sync,
            dry_run=True,
            tags=tuple(body.tags),
        )
        events = _dry_run(paths, options, services, request.app.state.metrics)
        return StreamingResponse(_lines(events), media_type="application/x-ndjson")
    return StreamingResponse(_queued(paths, body, admin.uploads), media_type="application/x-ndjson")


def _queued(paths: list[Path], body: IngestRequest, worker: JobWorker) -> Iterator[str]:
    """The batch queued now (whether or not the client reads on), then its results streamed
    as its rows finish."""
    request = BatchRequest(
        tuple(paths), tuple(body.groups), tuple(body.tags), body.sync, body.workers
    )
    try:
        batch = submit(worker.table, request)
    except Exception as exc:  # reported to the client, never lost
        return iter([_line({"event": "error", "message": f"{type(exc).__name__}: {exc}"})])
    worker.wake()
    return _streamed(worker, batch)


def _streamed(worker: JobWorker, batch: Batch) -> Iterator[str]:
    yield _line({"event": "total", "files": batch.files})
    for result in results(worker.table, batch.id, POLL_SECONDS):
        yield _line({"event": "result"} | asdict(result))
    yield _line({"event": "done"})


Event = dict[str, object] | None  # None: the ingestion ended


def _dry_run(
    paths: list[Path], options: IngestOptions, services: Services, metrics: Metrics
) -> queue.Queue[Event]:
    """What ingestion would do, planned in a thread (it changes nothing)."""
    events: queue.Queue[Event] = queue.Queue()

    def counted(result: IngestResult) -> None:
        metrics.observe_ingest(result, dry_run=True)
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
            events.put(None)

    threading.Thread(target=work, name="ingest-dry-run", daemon=True).start()
    return events


def _lines(events: queue.Queue[Event]) -> Iterator[str]:
    while (event := events.get()) is not None:
        yield _line(event)


def _line(data: dict[str, object]) -> str:
    return json.dumps(data) + "\n"
