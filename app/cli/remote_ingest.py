"""Ingest through the running web app when it holds the embedded store (one process only)."""

from __future__ import annotations

import json
from dataclasses import fields
from pathlib import Path

import httpx
from rich.console import Console

from app.accounts.operator_token import read_token
from app.cli.ingest import IngestProgress, print_summary
from app.settings import Settings
from ingest.pipeline import IngestOptions, IngestResult

_RESULT_FIELDS = {f.name for f in fields(IngestResult)}


class ServerUnavailable(RuntimeError):
    pass


def server_url(settings: Settings) -> str:
    host = "127.0.0.1" if settings.host in ("0.0.0.0", "::") else settings.host
    return f"http://{host}:{settings.port}"


def ingest_via_server(
    settings: Settings, paths: list[Path], options: IngestOptions, console: Console
) -> bool:
    """Stream the server's ingestion into the same progress bar; True when something failed."""
    token = read_token(settings.data_dir)
    if token is None:
        raise ServerUnavailable(f"no operator token in {settings.data_dir}: is the app running?")
    body = {
        "paths": [str(p.resolve()) for p in paths],
        "groups": list(options.groups),
        "tags": list(options.tags),
        "sync": options.sync,
        "dry_run": options.dry_run,
        "workers": options.workers,
    }
    url = server_url(settings) + "/api/v1/ingest"
    headers = {"Authorization": f"Bearer {token}"}
    results: list[IngestResult] = []
    try:
        with httpx.stream("POST", url, json=body, headers=headers, timeout=None) as response:
            if response.status_code != 200:
                response.read()
                raise ServerUnavailable(f"{url} answered {response.status_code}: {response.text}")
            lines = (json.loads(line) for line in response.iter_lines() if line)
            first = next(lines)
            if first["event"] == "error":
                raise ServerUnavailable(f"the server's ingestion stopped: {first['message']}")
            total = first["files"]
            with IngestProgress(console, "Ingesting (via the web app)", total) as bar:
                for event in lines:
                    if event["event"] == "error":
                        raise ServerUnavailable(
                            f"the server's ingestion stopped: {event['message']}"
                        )
                    if event["event"] == "result":
                        result = IngestResult(**{k: event[k] for k in _RESULT_FIELDS})
                        results.append(result)
                        bar.advance(result)
    except httpx.HTTPError as exc:
        raise ServerUnavailable(f"cannot reach the web app at {url}: {exc}") from exc
    print_summary(results, console, options.dry_run)
    return any(r.status == "failed" for r in results)
