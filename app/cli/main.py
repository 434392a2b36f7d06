"""The `docent` command: a thin shell over the library (settings -> services -> one call)."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from app.cli.tune import tune_cli
from app.cli.users import users_cli
from app.private import owner_only_files
from app.settings import Settings

if TYPE_CHECKING:
    from app.answering.answer import Answer
    from ingest.catalog import DocumentCatalog, DocumentRecord
    from ingest.pipeline import IngestOptions
    from ingest.store import VectorStore

cli = typer.Typer(help="docent: answers from your documents, with citations.", no_args_is_help=True)
model_cli = typer.Typer(help="List and download chat models.", no_args_is_help=True)
docs_cli = typer.Typer(help="Inspect the documents in the knowledge base.", no_args_is_help=True)
cli.add_typer(model_cli, name="model")
cli.add_typer(docs_cli, name="docs")
eval_cli = typer.Typer(help="Measure the quality of retrieval.", no_args_is_help=True)
cli.add_typer(eval_cli, name="eval")
cli.add_typer(users_cli, name="users")
cli.add_typer(tune_cli, name="tune")
console = Console()
err = Console(stderr=True)


def main() -> None:
    cli()


@cli.callback()
def _start() -> None:
    """Before any command: what docent writes is for this user only (app.private)."""
    owner_only_files()


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
    group: Annotated[
        list[str] | None, typer.Option(help="Group allowed to read these documents (repeat)")
    ] = None,
    sync: Annotated[
        bool, typer.Option(help="Remove documents under these folders whose files are gone")
    ] = False,
    workers: Annotated[
        int | None,
        typer.Option(
            min=0, help="Parser processes beside the embedder; default DOCENT_INGEST_WORKERS"
        ),
    ] = None,
    dry_run: Annotated[bool, typer.Option(help="Show what would change; change nothing")] = False,
    tag: Annotated[
        list[str] | None, typer.Option(help="Label for search filters, e.g. policy (repeat)")
    ] = None,
) -> None:
    """Parse, chunk, embed and store documents; unchanged files are skipped."""
    from app.services import ingest_options, open_store
    from ingest.store import StoreLocked

    settings = _settings()
    per_run = {"sync": sync, "dry_run": dry_run} | ({} if workers is None else {"workers": workers})
    tags = tuple(dict.fromkeys(t.strip() for t in tag or () if t.strip()))
    options = ingest_options(settings, tuple(group or ()), tags=tags, **per_run)
    try:
        store = open_store(settings)
    except StoreLocked:
        raise typer.Exit(_ingest_through_server(settings, paths, options)) from None
    raise typer.Exit(
        _ingest_here(settings, store, {(options.groups, options.tags): paths}, options)
    )


def _ingest_here(
    settings: Settings,
    store: VectorStore,
    by_labels: dict[tuple[tuple[str, ...], tuple[str, ...]], list[Path]],
    options: IngestOptions,
) -> int:
    """Each group of paths as a batch of jobs run by this process's worker; the exit code."""
    from dataclasses import replace

    from app.cli.ingest import run_ingest
    from app.documents.batches import BatchStopped
    from app.services import load_embedder, open_app_database, open_catalog

    engine = open_app_database(settings)
    catalog = open_catalog(settings, engine)
    failed = False
    try:
        embedder = load_embedder(settings)
        for (groups, tags), paths in by_labels.items():
            labelled = replace(options, groups=groups, tags=tags)
            failed |= run_ingest(paths, labelled, embedder, store, catalog, console, engine)
    except BatchStopped as exc:
        err.print(f"[red]{exc}[/red] (see the log above)", highlight=False)
        failed = True
    finally:
        store.close()
        catalog.close()
        engine.dispose()
    return 1 if failed else 0


def _ingest_through_server(settings: Settings, paths: list[Path], options: IngestOptions) -> int:
    from app.cli.ingest import existing_paths
    from app.cli.remote_ingest import ServerUnavailable, ingest_via_server, server_url

    console.print(f"The web app has the store open: ingesting through it ({server_url(settings)}).")
    present = existing_paths(paths, console)
    try:
        failed = ingest_via_server(settings, present, options, console)
        return 1 if failed or len(present) < len(paths) else 0
    except ServerUnavailable as exc:
        err.print(f"[red]{exc}[/red]", highlight=False)
        return 1


@cli.command()
def ask(
    question: Annotated[str, typer.Argument(help="The question to answer")],
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the answer object as JSON")
    ] = False,
    group: Annotated[
        list[str] | None, typer.Option(help="Ask as a member of this group (repeat)")
    ] = None,
    all_documents: Annotated[
        bool, typer.Option("--all-documents", help="Search every document, whatever its groups")
    ] = False,
    doc: Annotated[
        list[str] | None,
        typer.Option("--doc", help="Only this document: id, id prefix or path (repeat)"),
    ] = None,
    file_type: Annotated[
        list[str] | None, typer.Option("--type", help="Only files of this type, e.g. pdf (repeat)")
    ] = None,
    tag: Annotated[
        list[str] | None, typer.Option(help="Only documents with this tag (repeat)")
    ] = None,
    since: Annotated[
        str | None, typer.Option(help="Only files modified on or after this date (2024-05-01)")
    ] = None,
    before: Annotated[str | None, typer.Option(help="Only files modified before this date")] = None,
) -> None:
    """Answer a question from the knowledge base, streaming, with its sources.

    By default only documents without groups are searched, as for an anonymous user. The
    filters narrow the search further; they never open a document the asker may not read.
    """
    from app.answering.answer import Done, Token
    from app.answering.api_view import answer_dict
    from app.documents.filters import FilterError, resolve_documents, search_filters
    from app.services import ModelNotReady, build_services
    from app.tuning.active import active_adapter
    from ingest.access import Access

    settings = _settings()
    try:
        with _catalog(settings) as catalog:
            filters = search_filters(
                documents=resolve_documents(catalog, doc or ()),
                file_types=file_type or (),
                tags=tag or (),
                modified_since=since,
                modified_before=before,
            )
    except FilterError as exc:
        err.print(f"[red]{exc}[/red]", highlight=False)
        raise typer.Exit(2) from exc
    try:
        services = build_services(settings)
    except ModelNotReady as exc:
        err.print(f"[red]{exc}[/red]", highlight=False)
        raise typer.Exit(1) from exc
    active_adapter(settings, services).sync()  # the console's choice wins, as in the web app
    streamed: list[str] = []
    try:
        access = Access.admin() if all_documents else Access.member_of(group or ())
        for event in services.answerer.stream(question, access, filters=filters):
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
    if answer.declined and streamed.strip():  # written, then withheld: say so plainly
        console.rule("Withheld")
        console.print(
            f"docent withheld the text above: {answer.declined_because}.", highlight=False
        )
        console.print(answer.text, highlight=False)
        _print_closest(answer)
    elif answer.reasked and streamed.strip():
        from app.answering.yes_denied import REASKED

        console.rule("Asked again")
        console.print(f"docent asked the model again: {REASKED}.", highlight=False)
        console.print(answer.text, highlight=False)
    elif answer.text != streamed.strip():  # nothing streamed, or docent added citations
        console.rule("Answer with citations")
        console.print(answer.text, highlight=False)
        if answer.refused:
            _print_closest(answer)
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


def _print_closest(answer: Answer) -> None:
    console.print("You may find something in:", highlight=False)
    for p in answer.passages:
        where = f", {p.location}" if p.location else ""
        console.print(f"  - {p.title}{where} — {p.source}", highlight=False)


@cli.command()
def chat(
    group: Annotated[
        list[str] | None, typer.Option(help="Ask as a member of this group (repeat)")
    ] = None,
) -> None:
    """Ask questions one after another; follow-ups use the conversation. Ctrl+D ends."""
    from app.answering.answer import Done, Rewritten, Token
    from app.answering.followup import Turn
    from app.services import ModelNotReady, build_services
    from ingest.access import Access

    try:
        services = build_services(_settings())
    except ModelNotReady as exc:
        err.print(f"[red]{exc}[/red]", highlight=False)
        raise typer.Exit(1) from exc
    turns: list[Turn] = []
    access = Access.member_of(group or ())
    try:
        while question := _prompt():
            streamed: list[str] = []
            for event in services.answerer.stream(question, access, tuple(turns)):
                if isinstance(event, Rewritten):
                    console.print(f"[dim](searching for: {event.query})[/dim]", highlight=False)
                elif isinstance(event, Token):
                    streamed.append(event.text)
                    sys.stdout.write(event.text)
                    sys.stdout.flush()
                elif isinstance(event, Done):
                    _print_sources(event.answer, "".join(streamed))
                    if event.answer.found:
                        turns.append(Turn(question, event.answer.text))
    finally:
        services.close()


def _prompt() -> str | None:
    try:
        return input("\nask> ").strip() or _prompt()
    except EOFError:
        return None


@eval_cli.command("retrieval")
def eval_retrieval_command(
    dataset: Annotated[
        Path, typer.Option(help="A BEIR folder (corpus, queries, qrels) or a .jsonl gold file")
    ],
    mode: Annotated[
        list[str] | None,
        typer.Option(
            help="dense, sparse, hybrid (DOCENT_FUSION), hybrid-rrf, hybrid-dbsf (repeat; "
            "default dense, sparse, hybrid; hybrid+rerank is added when a reranker is set)"
        ),
    ] = None,
    k: Annotated[int, typer.Option(min=1, help="Cut-off for nDCG, recall and MRR")] = 10,
    depth: Annotated[int, typer.Option(min=1, help="Passages retrieved per query")] = 100,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output")] = False,
) -> None:
    """nDCG@k, recall@k, recall@depth, MRR@k and latency for each retrieval mode.

    A BEIR corpus is indexed once into its own collection and reused by later runs.
    """
    from app.evaluation.beir import DatasetError
    from app.evaluation.report import report_table
    from app.evaluation.run import eval_retrieval
    from app.evaluation.runner import MODES
    from app.services import load_embedder, load_reranker

    settings = _settings()
    try:
        report = eval_retrieval(
            dataset,
            settings,
            load_embedder(settings),
            modes=tuple(mode or MODES),
            k=k,
            depth=depth,
            reranker=load_reranker(settings),
            console=None if as_json else console,
        )
    except (DatasetError, ValueError) as exc:
        err.print(f"[red]{exc}[/red]", highlight=False)
        raise typer.Exit(2) from exc
    if as_json:
        print(report.to_json())
    else:
        console.print(report_table(report))


@eval_cli.command("answers")
def eval_answers_command(
    dataset: Annotated[Path, typer.Option(help="An answer set (.jsonl; see docs in README)")],
    out: Annotated[
        Path, typer.Option(help="Where every answer, its passages and verdicts are written")
    ] = Path("eval-answers.jsonl"),
    split: Annotated[
        str | None, typer.Option(help="Only the questions of this split (dev, test)")
    ] = None,
    limit: Annotated[int | None, typer.Option(min=1, help="Only the first N questions")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output")] = False,
) -> None:
    """Answer every question of an answer set with the real pipeline, and judge the answers.

    Reports, overall, per source and per split: answered, declined, complete (every key fact
    stated), key-fact recall, right document cited, citation validity, out-of-scope questions
    answered, answers altered outside citation markers, prompt leaks, time to first token.
    The documents must be ingested first (`make eval-answers` does both).
    """
    from app.evaluation.answers import evaluate_answers, read_answer_set
    from app.evaluation.beir import DatasetError
    from app.services import ModelNotReady, build_services

    settings = _settings()
    try:
        items = read_answer_set(dataset)
    except DatasetError as exc:
        err.print(f"[red]{exc}[/red]", highlight=False)
        raise typer.Exit(2) from exc
    items = [i for i in items if split is None or i.split == split][:limit]
    try:
        services = build_services(settings)
    except ModelNotReady as exc:
        err.print(f"[red]{exc}[/red]", highlight=False)
        raise typer.Exit(1) from exc
    try:
        with _answer_progress(len(items), quiet=as_json) as step:
            rows = [
                s.row()
                for s in evaluate_answers(
                    items, services.answerer, services.answerer.prompts, out, step
                )
            ]
    finally:
        services.close()
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    table = Table(title=f"Answers on {dataset} ({len(items)} questions; review: {out})")
    table.add_column("")  # one row per figure, one column per set (all, each source, split)
    for row in rows:
        table.add_column(str(row["set"]).removeprefix("source ").removeprefix("split "))
    for figure in list(rows[0])[1:]:
        values = ("–" if row[figure] is None else str(row[figure]) for row in rows)
        table.add_row(figure.replace("_", " "), *values)
    console.print(table)


@contextmanager
def _answer_progress(total: int, quiet: bool) -> Iterator[Callable[[Any, Any], None]]:
    from rich.progress import Progress

    if quiet:
        yield lambda item, verdict: None
        return
    with Progress(console=err) as bar:
        task = bar.add_task("answering", total=total)

        def step(item: Any, verdict: Any) -> None:
            outcome = "answered" if verdict.answered else verdict.declined or "not found"
            bar.update(task, advance=1, description=f"{item.id}: {outcome}")

        yield step


@cli.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Default: DOCENT_HOST")] = None,
    port: Annotated[int | None, typer.Option(help="Default: DOCENT_PORT")] = None,
) -> None:
    """Start the web app (ingesting the demo documents first if the store is empty)."""
    from app.cli.serve import run_server

    settings = _settings()
    run_server(settings, host or settings.host, port or settings.port, console)


@docs_cli.command("list")
def docs_list() -> None:
    """Every document in the catalog with its status."""
    from app.cli.docs import list_table

    with _catalog(_settings()) as catalog:
        console.print(list_table(catalog))


@docs_cli.command("show")
def docs_show(
    ref: Annotated[str, typer.Argument(help="Document id, id prefix or file path")],
) -> None:
    """One document's catalog record and its chunks."""
    from app.cli.docs import show
    from app.documents.library import find_document

    with _documents() as (catalog, store):
        show(_find(find_document, catalog, ref), store, console)


@docs_cli.command("rm")
def docs_rm(refs: Annotated[list[str], typer.Argument(help="Document ids or file paths")]) -> None:
    """Remove documents from the knowledge base (their files are not touched)."""
    from app.documents.library import find_document
    from ingest.pipeline import remove_document

    with _documents() as (catalog, store):
        for ref in refs:
            record = _find(find_document, catalog, ref)
            remove_document(record.doc_id, store, catalog)
            console.print(f"removed {record.source}", highlight=False)


@docs_cli.command("reindex")
def docs_reindex(
    refs: Annotated[list[str] | None, typer.Argument(help="Document ids or file paths")] = None,
    all_documents: Annotated[bool, typer.Option("--all", help="Every document")] = False,
) -> None:
    """Parse and embed documents again from their files, even if nothing changed."""
    from app.documents.library import find_document
    from app.services import ingest_options

    settings = _settings()
    if not refs and not all_documents:
        err.print("Name documents to re-index, or pass --all.")
        raise typer.Exit(2)
    store = _store_or_exit(settings)
    try:
        with _catalog(settings) as catalog:
            records = (
                catalog.all()
                if all_documents
                else [_find(find_document, catalog, ref) for ref in refs or []]
            )
    except typer.Exit:
        store.close()
        raise
    by_labels: dict[tuple[tuple[str, ...], tuple[str, ...]], list[Path]] = {}
    for record in records:
        by_labels.setdefault((record.groups, record.tags), []).append(Path(record.source))
    options = ingest_options(settings, force=True)
    raise typer.Exit(_ingest_here(settings, store, by_labels, options))


@contextmanager
def _catalog(settings: Settings) -> Iterator[DocumentCatalog]:
    """The document catalog in the app database, for one command."""
    from app.services import open_app_database, open_catalog

    engine = open_app_database(settings)
    try:
        yield open_catalog(settings, engine)
    finally:
        engine.dispose()


def _store_or_exit(settings: Settings) -> VectorStore:
    """The embedded store for this command, or exit 1 saying the web app holds it."""
    from app.services import open_store
    from ingest.store import StoreLocked

    try:
        return open_store(settings)
    except StoreLocked as exc:
        err.print(
            f"[red]{exc}[/red]: stop the web app first (`docent ingest` works while it runs)."
        )
        raise typer.Exit(1) from exc


@contextmanager
def _documents() -> Iterator[tuple[DocumentCatalog, VectorStore]]:
    settings = _settings()
    store = _store_or_exit(settings)
    try:
        with _catalog(settings) as catalog:
            yield catalog, store
    finally:
        store.close()


def _find(
    finder: Callable[[DocumentCatalog, str], DocumentRecord], catalog: DocumentCatalog, ref: str
) -> DocumentRecord:
    try:
        return finder(catalog, ref)
    except LookupError as exc:
        err.print(f"[red]{exc}[/red]", highlight=False)
        raise typer.Exit(1) from exc
