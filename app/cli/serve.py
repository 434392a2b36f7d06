"""`docent serve`: load the services once, seed the demo documents, start uvicorn."""

from __future__ import annotations

import threading

import httpx
import uvicorn
from rich.console import Console

from app.accounts.bootstrap import create_first_admin
from app.answering.prefill import prefill_collection
from app.cli.ingest import ingest_with_progress, print_summary
from app.demo import demo_documents
from app.logs import configure_logging
from app.services import ModelNotReady, Services, build_services, ingest_options
from app.settings import Settings
from app.web import create_app
from ingest.store import StoreLocked


def run_server(settings: Settings, host: str, port: int, console: Console) -> None:
    configure_logging(settings.log_format, settings.log_level)
    try:
        services = build_services(settings)
    except (ModelNotReady, StoreLocked) as exc:
        console.print(f"[red]{exc}[/red]", highlight=False)
        raise SystemExit(1) from exc
    except Exception as exc:
        if not settings.qdrant_url or not _unreachable(exc):
            raise
        console.print(
            f"[red]Cannot reach the Qdrant server at {settings.qdrant_url}: {exc}[/red]\n"
            "Start it, or fix DOCENT_QDRANT_URL (unset: the embedded store under the data dir).",
            highlight=False,
        )
        raise SystemExit(1) from exc
    if settings.ingest_demo and services.store.count() == 0:
        seed_demo(settings, services, console)
    if settings.warm_start:  # in turns on the model: questions asked meanwhile wait for one
        threading.Thread(target=warm_start, args=(settings, services), daemon=True).start()
    announce_first_admin(services, console)
    url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}"
    console.print(
        f"\n[bold green]docent is ready:[/bold green] open {url} in your browser.\n"
        f"Answers come from {services.model_title}. Sign in to ask; add people with "
        "`docent users add NAME` (or `--invite` for a one-time link).\n"
        "Try: “How many days a week can I work from home?” · Stop with Ctrl+C.\n",
        highlight=False,
    )
    try:
        app = create_app(settings.model_copy(update={"host": host}), services)  # --host counts
        # our logging config, not uvicorn's; one line per request comes from app.web.logging_mw.
        # X-Forwarded-For is believed only from DOCENT_TRUSTED_PROXIES (app.web.client), not by
        # uvicorn (which would trust it from 127.0.0.1).
        uvicorn.run(
            app, host=host, port=port, log_config=None, access_log=False, proxy_headers=False
        )
    finally:
        services.close()


def warm_start(settings: Settings, services: Services) -> None:
    """Read the system prompt, then compute a small collection's passage cells."""
    if services.answerer.warm() and settings.passage_cache_mb > 0:
        budget = settings.passage_cache_mb * 2**20
        prefill_collection(services.answerer, services.catalog, services.store, budget)


def _unreachable(exc: BaseException) -> bool:
    """A connection failure from the Qdrant client (its own wrapper or the HTTP layer's)."""
    kind = type(exc)
    return isinstance(exc, httpx.TransportError | ConnectionError) or (
        kind.__module__.startswith("qdrant_client") and kind.__name__ == "ResponseHandlingException"
    )


def announce_first_admin(services: Services, console: Console) -> None:
    """Create the first admin when there is none, and print the credentials once."""
    created = create_first_admin(services.accounts)
    if created is None:
        return
    user, password = created
    console.print(
        "\n[bold yellow]First start: created the administrator account.[/bold yellow]\n"
        f"    username: [bold]{user.username}[/bold]\n"
        f"    password: [bold]{password}[/bold]\n"
        "This password is shown only now: note it, then sign in (change it any time with "
        f"`docent users passwd {user.username}`).\n",
        highlight=False,
    )


def seed_demo(settings: Settings, services: Services, console: Console) -> None:
    console.print("The knowledge base is empty: ingesting the bundled demo documents.")
    results = ingest_with_progress(
        demo_documents(),
        ingest_options(settings),
        services.embedder,
        services.store,
        services.catalog,
        console,
    )
    print_summary(results, console)
