"""`docent tune …`: build a training set, train a LoRA adapter, compare it with the model alone.

Thin: each command reads settings, opens what it needs, calls `app.tuning`, prints.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from app.settings import Settings

if TYPE_CHECKING:
    from app.services import Services
    from app.tuning.comparison import SetComparison
    from app.tuning.examples import TrainingSet
    from app.tuning.training import Progress as Step

tune_cli = typer.Typer(
    help="Adapt the chat model to your documents and reviewed answers (LoRA).",
    no_args_is_help=True,
)
console = Console()
err = Console(stderr=True)


def _settings() -> Settings:
    try:
        return Settings()
    except ValueError as exc:
        err.print(f"[red]Invalid settings:[/red] {exc}", highlight=False)
        raise typer.Exit(2) from exc


def _tuning_dir(settings: Settings) -> Path:
    return settings.data_dir / "tuning"


def _fail(message: str, code: int = 1) -> typer.Exit:
    err.print(f"[red]{message}[/red]", highlight=False)
    return typer.Exit(code)


@contextmanager
def _services(settings: Settings) -> Iterator[Services]:
    from app.services import ModelNotReady, build_services
    from ingest.store import StoreLocked

    try:
        services = build_services(settings)
    except ModelNotReady as exc:
        raise _fail(str(exc)) from exc
    except StoreLocked as exc:
        raise _fail(f"{exc}: stop the web app first (tuning reads the store)") from exc
    try:
        yield services
    finally:
        services.close()


@tune_cli.command("data")
def data(
    out: Annotated[
        Path | None, typer.Option(help="Default: DATA_DIR/tuning/training.jsonl")
    ] = None,
    chunks: Annotated[int, typer.Option(min=0, help="Chunks sampled for questions")] = 40,
    passages: Annotated[int, typer.Option(min=1, help="Passages shown per question")] = 4,
    out_of_scope: Annotated[
        float,
        typer.Option(
            min=0.0,
            max=1.0,
            help="Share of questions also kept without "
            "their answering passages (target: the not-found reply)",
        ),
    ] = 0.3,
    heldout: Annotated[int, typer.Option(min=0, max=90, help="Percent held out for eval")] = 20,
    seed: Annotated[int, typer.Option(help="Which chunks, positions and split")] = 0,
    people: Annotated[
        bool, typer.Option(help="Add answers rated up and admins' corrections")
    ] = True,
) -> None:
    """Build the training set (JSONL, readable and editable) in docent's own prompt format."""
    from app.tuning.examples import TrainingExample, write_training_set
    from app.tuning.knowledge import KnowledgeOptions, knowledge_examples, sample_chunks
    from app.tuning.people import people_examples

    settings = _settings().model_copy(update={"lora_path": None})  # the model alone writes
    target = out or _tuning_dir(settings) / "training.jsonl"
    options = KnowledgeOptions(chunks, passages, out_of_scope, heldout_percent=heldout, seed=seed)
    started = time.monotonic()
    with _services(settings) as services:
        sampled = sample_chunks(
            services.catalog.all(), services.store, chunks, random.Random(seed), options.min_words
        )
        examples: list[TrainingExample] = []
        skipped: dict[str, int] = {}
        with _bar("questions", len(sampled)) as (bar, task):
            for outcome in knowledge_examples(services.answerer, sampled, options):
                examples.extend(outcome.examples)
                if outcome.skipped:
                    skipped[outcome.skipped] = skipped.get(outcome.skipped, 0) + 1
                bar.update(task, advance=1, status=f"{len(examples)} kept")
        if people:
            reviewed = services.conversations.reviewed_answers()
            examples.extend(people_examples(reviewed, services.answerer.prompts, heldout))
    if not examples:
        why = ", ".join(f"{n} {reason}" for reason, n in sorted(skipped.items()))
        raise _fail(
            f"no examples from {len(sampled)} chunks ({why or 'no chunks: ingest documents first'}"
            "); a larger chat model writes usable questions and answers more often"
        )
    write_training_set(target, examples)
    minutes = (time.monotonic() - started) / 60
    _print_counts(_read(target), skipped)
    console.print(
        f"{len(examples)} examples from {len(sampled)} chunks in {minutes:.1f} min: {target}",
        highlight=False,
    )


@tune_cli.command("train")
def train_command(
    data: Annotated[
        Path | None, typer.Option(help="Default: DATA_DIR/tuning/training.jsonl")
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(help="Run folder (checkpoint, adapter); default DATA_DIR/tuning/run"),
    ] = None,
    rank: Annotated[int, typer.Option(min=1, help="LoRA rank")] = 8,
    alpha: Annotated[float, typer.Option(min=0.0, help="LoRA alpha (scale = alpha / rank)")] = 16.0,
    targets: Annotated[
        str, typer.Option(help="Comma-separated module names to adapt")
    ] = "q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj",
    learning_rate: Annotated[float, typer.Option("--lr", min=0.0)] = 2e-4,
    epochs: Annotated[int, typer.Option(min=1)] = 2,
    accumulate: Annotated[int, typer.Option(min=1, help="Examples per optimizer step")] = 4,
    max_tokens: Annotated[int, typer.Option(min=64, help="Longer examples are left out")] = 2048,
    max_steps: Annotated[
        int | None, typer.Option(min=1, help="Budget: stop after this many steps in total")
    ] = None,
    max_minutes: Annotated[
        float | None, typer.Option(min=0.0, help="Budget: stop after this many minutes")
    ] = None,
    checkpoint_every: Annotated[int, typer.Option(min=1, help="Steps between checkpoints")] = 5,
    device: Annotated[
        str, typer.Option(help="auto (a CUDA GPU when present), cpu or cuda")
    ] = "auto",
    fresh: Annotated[bool, typer.Option(help="Start over instead of resuming")] = False,
    checkpointing: Annotated[
        bool, typer.Option(help="Recompute activations backwards: far less memory, ~30% slower")
    ] = True,
    seed: Annotated[int, typer.Option()] = 0,
) -> None:
    """Train a LoRA adapter on the train split; resumes a stopped run; exports adapter.gguf."""
    from app.services import ModelNotReady, choose_chat_model
    from app.tuning.model import LoraConfig, TuningUnavailable, torch_device
    from app.tuning.training import TrainOptions, train

    settings = _settings()
    training_set = _read(data or _tuning_dir(settings) / "training.jsonl")
    try:
        model = choose_chat_model(settings).path
        options = TrainOptions(
            lora=LoraConfig(rank, alpha, targets=tuple(t.strip() for t in targets.split(","))),
            learning_rate=learning_rate,
            epochs=epochs,
            accumulate=accumulate,
            max_tokens=max_tokens,
            checkpoint_every=checkpoint_every,
            max_steps=max_steps,
            max_minutes=max_minutes,
            checkpointing=checkpointing,
            seed=seed,
            device=torch_device(device),
        )
    except (ModelNotReady, ValueError, TuningUnavailable) as exc:
        raise _fail(str(exc), 2) from exc
    folder = out or _tuning_dir(settings) / "run"
    console.print(f"Training on {options.device} from {model.name} into {folder}", highlight=False)
    try:
        with _train_bar() as step:
            report = train(training_set.examples, model, folder, options, step, fresh=fresh)
    except (ValueError, TuningUnavailable) as exc:
        raise _fail(str(exc)) from exc
    for key, value in asdict(report).items():
        console.print(f"{key.replace('_', ' ')}: {value}", highlight=False, soft_wrap=True)
    if report.adapter:
        console.print(
            f"Compare it: docent tune eval --adapter {report.adapter}\n"
            f"Serve it:   DOCENT_LORA_PATH={report.adapter} docent serve",
            highlight=False,
            soft_wrap=True,  # commands to copy: never broken across lines
        )
    else:
        console.print(f"Stopped by the {report.stopped_by} budget: run again to resume.")


@tune_cli.command("eval")
def eval_command(
    adapter: Annotated[
        Path | None, typer.Option(help="Default: DATA_DIR/tuning/run/adapter.gguf")
    ] = None,
    data: Annotated[
        Path | None, typer.Option(help="Training set whose held-out split is asked")
    ] = None,
    dataset: Annotated[
        Path | None, typer.Option(help="An answer set too (e.g. eval/debian-docs/questions.jsonl)")
    ] = None,
    split: Annotated[str | None, typer.Option(help="Only this split of --dataset (dev)")] = "dev",
    limit: Annotated[int | None, typer.Option(min=1, help="Only the first N of each set")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output")] = False,
) -> None:
    """`docent eval answers` with and without the adapter, side by side."""
    from app.evaluation.answers import read_answer_set
    from app.evaluation.beir import DatasetError
    from app.generation.generator import LlamaCppGenerator
    from app.services import check_adapter, choose_chat_model
    from app.tuning.comparison import Side, compare, write_comparison

    settings = _settings().model_copy(update={"lora_path": None})
    tuning = _tuning_dir(settings)
    adapter = adapter or tuning / "run" / "adapter.gguf"
    if not adapter.is_file():
        raise _fail(f"{adapter} is missing: train one with `docent tune train`", 2)
    sets = {"held-out": _read(data or tuning / "training.jsonl").heldout_questions()}
    if dataset is not None:
        try:
            items = read_answer_set(dataset)
        except DatasetError as exc:
            raise _fail(str(exc), 2) from exc
        sets[split or dataset.stem] = [i for i in items if split is None or i.split == split]
    sets = {name: items[:limit] for name, items in sets.items() if items}
    if not sets:
        raise _fail("no questions: the training set has no held-out examples", 2)
    with _services(settings) as services:
        if settings.llm_url:
            raise _fail("tune eval runs the GGUF in this process: unset DOCENT_LLM_URL", 2)
        model = choose_chat_model(settings).path
        check_adapter(adapter, model)
        tuned = LlamaCppGenerator(
            model,
            model_id=services.generator.model_id,
            n_ctx=settings.n_ctx,
            n_threads=settings.n_threads,
            lora_path=adapter,
            lora_scale=settings.lora_scale,
        )
        base = services.answerer
        sides = [
            Side("base", base),
            Side(adapter.name, replace(base, generator=tuned, rewriter=tuned.aside())),
        ]
        total = sum(len(items) for items in sets.values()) * len(sides)
        with _bar("answering", total, quiet=as_json) as (bar, task):
            comparisons = compare(
                sets,
                sides,
                adapter.parent / "eval",
                lambda label, item, verdict: bar.update(
                    task, advance=1, status=f"{label}: {item.id}"
                ),
            )
    write_comparison(adapter.with_suffix(".eval.json"), comparisons)
    if as_json:
        print(json.dumps([asdict(c) for c in comparisons], indent=2))
        return
    for comparison in comparisons:
        console.print(_side_by_side(comparison, adapter.name))


def _read(path: Path) -> TrainingSet:
    from app.tuning.examples import TrainingSetError, read_training_set

    try:
        return read_training_set(path)
    except TrainingSetError as exc:
        raise _fail(str(exc), 2) from exc


@contextmanager
def _bar(what: str, total: int, quiet: bool = False) -> Iterator[tuple[Progress, TaskID]]:
    columns = (
        TextColumn(f"{what} "),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[status]}"),
    )
    with Progress(*columns, console=err, disable=quiet) as bar:
        yield bar, bar.add_task(what, total=total, status="")


@contextmanager
def _train_bar() -> Iterator[Callable[[Step], None]]:
    columns = (
        TextColumn("training "),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("examples"),
        TextColumn("{task.fields[status]}"),
    )
    with Progress(*columns, console=err) as bar:
        task = bar.add_task("training", total=None, status="loading the model…")

        def step(at: Step) -> None:
            eta = at.eta_seconds
            status = (
                f"step {at.step}/{at.steps_total} · loss {at.loss:.3f} · "
                f"{at.seconds / max(at.examples_done, 1):.1f} s/example · "
                f"ETA {_duration(eta) if eta is not None else '?'}"
            )
            bar.update(task, completed=at.examples_done, total=at.examples_total, status=status)

        yield step


def _duration(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s"


def _print_counts(training_set: TrainingSet, skipped: dict[str, int]) -> None:
    table = Table("origin", "train", "held out", title="Training set")
    for origin, row in sorted(training_set.counts().items()):
        table.add_row(origin, str(row["train"]), str(row["heldout"]))
    console.print(table)
    if skipped:
        reasons = ", ".join(f"{n} {why}" for why, n in sorted(skipped.items()))
        console.print(f"chunks without an example: {reasons}", highlight=False)


def _side_by_side(comparison: SetComparison, adapter: str) -> Table:
    table = Table(title=f"{comparison.name}: {comparison.questions} questions")
    table.add_column("")
    table.add_column("model alone")
    table.add_column(f"with {adapter}")
    better, worse = comparison.better(adapter), comparison.worse(adapter)
    base_row, tuned_row = comparison.rows["base"], comparison.rows[adapter]
    for figure in list(base_row)[1:]:
        mark = " ▲" if figure in better else " ▼" if figure in worse else ""
        values = ("–" if row[figure] is None else str(row[figure]) for row in (base_row, tuned_row))
        base_value, tuned_value = values
        table.add_row(figure.replace("_", " "), base_value, tuned_value + mark)
    return table
