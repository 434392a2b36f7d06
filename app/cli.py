"""The `docent` command: a thin shell over the library (settings -> services -> one call)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from app.settings import Settings

if TYPE_CHECKING:
    from app.answer import Answer

cli = typer.Typer(help="docent: answers from your documents, with citations.", no_args_is_help=True)
model_cli = typer.Typer(help="List and download chat models.", no_args_is_help=True)
docs_cli = typer.Typer(help="Inspect the documents in the knowledge base.", no_args_is_help=True)
cli.add_typer(model_cli, name="model")
cli.add_typer(docs_cli, name="docs")
console = Console()
err = Console(stderr=True)


def main() -> None:
    cli()


def _settings() -> Settings:
    try:
        return Settings()
    except ValueError as exc:
        err.print(f"[red]Invalid settings:[/red] {exc}")
        raise typer.Exit(2) from exc


@cli.command()
def config() -> None:
    """Print the effective settings (secrets masked)."""
    for name, value in _settings().masked().items():
        console.print(f"DOCENT_{name.upper()}={'' if value is None else value}", highlight=False)


@model_cli.command("list")
def model_list() -> None:
    """The chat-model catalog and which models are on this machine."""
    from app.models import list_models

    settings = _settings()
    table = Table("name", "model", "source", "available")
    for spec, available in list_models(settings.models_dir):
        marker = " (configured)" if spec.name == settings.model else ""
        table.add_row(spec.name + marker, spec.title, spec.source, "yes" if available else "no")
    console.print(table)


@model_cli.command("pull")
def model_pull(
    name: Annotated[str | None, typer.Argument(help="Catalog name; default: DOCENT_MODEL")] = None,
    fallback: Annotated[
        bool, typer.Option(help="Use the offline model when the hub is unreachable")
    ] = True,
) -> None:
    """Download (or assemble) a chat model, checksum-verified, into the data dir."""
    from app.models import ModelError, ensure_model
    from app.models.progress import rich_progress

    settings = _settings()
    if settings.model_path is not None and name is None:
        console.print(f"DOCENT_MODEL_PATH is set: answering with {settings.model_path}.")
        return
    token = settings.hub_token.get_secret_value() if settings.hub_token else None
    target = name or settings.model
    try:
        with rich_progress(target) as progress:
            ensured = ensure_model(
                target,
                settings.models_dir,
                hub_url=settings.hub_url,
                token=token,
                progress=progress,
                allow_fallback=fallback and settings.offline_fallback,
                notify=lambda message: err.print(message, highlight=False),
            )
    except (ModelError, ValueError) as exc:
        err.print(f"[red]Could not provide the model:[/red] {exc}", highlight=False)
        raise typer.Exit(1) from exc
    status = " (offline fallback)" if ensured.fell_back else ""
    console.print(f"Ready: {ensured.spec.title}{status} at {ensured.path}", highlight=False)


@cli.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Files or folders to ingest")],
    group: Annotated[list[str], typer.Option(help="Group allowed to read these documents")] = [],  # noqa: B006
) -> None:
    """Parse, chunk, embed and store documents; unchanged files are skipped."""
    from app.ingest_cli import run_ingest

    settings = _settings()
    failed = run_ingest(settings, paths, tuple(group), console)
    raise typer.Exit(1 if failed else 0)


@cli.command()
def ask(
    question: Annotated[str, typer.Argument(help="The question to answer")],
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the answer object as JSON")
    ] = False,
) -> None:
    """Answer a question from the knowledge base, streaming, with its sources."""
    from app.answer import Done, Token
    from app.serialize import answer_dict
    from app.services import ModelNotReady, build_services

    settings = _settings()
    try:
        services = build_services(settings)
    except ModelNotReady as exc:
        err.print(f"[red]{exc}[/red]", highlight=False)
        raise typer.Exit(1) from exc
    streamed: list[str] = []
    try:
        for event in services.answerer.stream(question):
            if isinstance(event, Token) and not as_json:
                streamed.append(event.text)
                sys.stdout.write(event.text)
                sys.stdout.flush()
            elif isinstance(event, Done):
                if as_json:
                    print(json.dumps(answer_dict(event.answer), indent=2, ensure_ascii=False))
                else:
                    _print_sources(event.answer, "".join(streamed))
    finally:
        services.close()


def _print_sources(answer: Answer, streamed: str) -> None:
    print()
    if answer.text != streamed.strip():  # nothing streamed, or docent added citations
        console.rule("Answer with citations")
        console.print(answer.text, highlight=False)
    if answer.citations:
        console.rule("Sources")
    for citation in answer.citations:
        p = citation.passage
        where = f", {p.location}" if p.location else ""
        note = "" if citation.by_model else "  (matched by docent)"
        console.print(f"[{citation.number}] {p.title}{where} — {p.source}{note}", highlight=False)
    t = answer.timings
    speed = f", {t.tokens_per_second:.1f} tok/s" if t.tokens_per_second else ""
    first = f", first token {t.first_token_ms / 1000:.1f} s" if t.first_token_ms else ""
    err.print(
        f"{answer.model} · {t.prompt_tokens} prompt tokens{first}{speed}, "
        f"total {t.total_ms / 1000:.1f} s",
        highlight=False,
    )


@cli.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Default: DOCENT_HOST")] = None,
    port: Annotated[int | None, typer.Option(help="Default: DOCENT_PORT")] = None,
) -> None:
    """Start the web app (ingesting the demo documents first if the store is empty)."""
    from app.serve import run_server

    settings = _settings()
    run_server(settings, host or settings.host, port or settings.port, console)


@docs_cli.command("list")
def docs_list() -> None:
    """Every document in the catalog with its status."""
    from ingest.catalog import Catalog

    settings = _settings()
    catalog = Catalog(settings.catalog_path)
    table = Table("source", "title", "chunks", "status", "updated")
    for record in catalog.all():
        status = record.status if record.error is None else f"{record.status}: {record.error}"
        table.add_row(
            record.source, record.title, str(record.chunk_count), status, record.updated_at
        )
    console.print(table)
    catalog.close()
