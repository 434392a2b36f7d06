"""The GGUF LoRA adapters docent knows, each with what the console shows before serving it.

Known adapters: every run folder's `adapter.gguf` under `DATA_DIR/tuning/`, and
`DOCENT_LORA_PATH` when set. For each: whether it was trained on the chat model in use (the
check the app makes at start), when it was written, the figures of its `training.json`, and
the scores `docent tune eval` wrote beside it (`ADAPTER.eval.json`: the model alone and the
adapter on the held-out split and on an answer set). An adapter without scores on an answer
set, or worse than the model alone there on any judged figure, is served only when the admin
confirms it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ADAPTER_FILE = "adapter.gguf"  # as app.tuning.training writes it (without importing torch)
REPORT_FILE = "training.json"
HELD_OUT = "held-out"  # the training set's own split: not the answer set
BASE = "base"
# training.json figures shown, in this order
TRAINING_FIGURES = (
    "finished",
    "stopped_by",
    "examples",
    "steps",
    "steps_total",
    "first_loss",
    "last_loss",
    "seconds",
    "seconds_per_example",
    "device",
)


@dataclass(frozen=True)
class SetScores:
    """One set of `docent tune eval`: the model alone and the adapter, figure by figure."""

    name: str
    questions: int
    base: dict[str, Any]
    tuned: dict[str, Any]
    better: list[str]
    worse: list[str]

    def figures(self) -> list[tuple[str, Any, Any, str]]:
        """(figure, model alone, adapter, "better"/"worse"/"") for every figure of the file."""
        names = [f for f in self.base if f != "set"]
        names += [f for f in self.tuned if f not in names and f != "set"]
        return [
            (
                name,
                self.base.get(name),
                self.tuned.get(name),
                "better" if name in self.better else "worse" if name in self.worse else "",
            )
            for name in names
        ]


@dataclass(frozen=True)
class AdapterEntry:
    path: Path
    label: str  # the run folder's path under the tuning folder, or the file's path
    written_at: datetime  # the adapter file's modification time (UTC)
    problem: str | None  # why it does not fit the chat model; None when it does
    checked: bool  # False: no chat model file here to check it against (a model server)
    training: dict[str, Any] = field(default_factory=dict)  # training.json's figures shown
    scores: list[SetScores] = field(default_factory=list)
    scores_error: str | None = None  # the eval file exists but cannot be read

    @property
    def fits(self) -> bool:
        return self.problem is None

    def confirmation(self) -> str | None:
        """Why serving it needs the admin's confirmation (None: it does not)."""
        answer_sets = [s for s in self.scores if s.name != HELD_OUT]
        if not answer_sets:
            return "it has no scores on an answer set (`docent tune eval --dataset …` measures it)"
        worse = [f"{figure} on {s.name}" for s in answer_sets for figure in s.worse]
        if worse:
            return "it scores worse than the model alone: " + ", ".join(worse)
        return None


def find_adapters(tuning_dir: Path, extra: Iterable[Path | None] = ()) -> list[Path]:
    """Each run folder's adapter under `tuning_dir` (newest first), then the `extra` files
    (DOCENT_LORA_PATH, the stored choice) that exist and are not among them."""
    found = sorted(
        (p for p in tuning_dir.glob(f"*/{ADAPTER_FILE}") if p.is_file()),
        key=lambda p: p.stat().st_mtime,
        reverse=True,
    )
    resolved = {p.resolve() for p in found}
    for path in extra:
        if path is not None and path.is_file() and path.resolve() not in resolved:
            found.append(path)
            resolved.add(path.resolve())
    return found


def describe(path: Path, tuning_dir: Path, model: Path | None) -> AdapterEntry:
    """What the console shows of the adapter at `path`; `model`: the chat model's GGUF here
    (None with a model server: the fit is not checked)."""
    from app.services import adapter_problem

    scores, error = read_scores(path)
    return AdapterEntry(
        path=path,
        label=_label(path, tuning_dir),
        written_at=datetime.fromtimestamp(path.stat().st_mtime, UTC).replace(tzinfo=None),
        problem=adapter_problem(path, model) if model is not None else None,
        checked=model is not None,
        training=read_training(path.parent / REPORT_FILE),
        scores=scores,
        scores_error=error,
    )


def eval_file(adapter: Path) -> Path:
    """Where `docent tune eval` writes the adapter's scores."""
    return adapter.with_suffix(".eval.json")


def read_scores(adapter: Path) -> tuple[list[SetScores], str | None]:
    """The sets of the adapter's eval file (none when there is no file), or the reason it
    cannot be read."""
    path = eval_file(adapter)
    if not path.is_file():
        return [], None
    try:
        return [_set_scores(item) for item in json.loads(path.read_text(encoding="utf-8"))], None
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        return [], f"{path.name} cannot be read: {exc}"


def read_training(path: Path) -> dict[str, Any]:
    """The figures of a run's training.json worth showing ({} without a readable file)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {key: data[key] for key in TRAINING_FIGURES if data.get(key) not in (None, "")}


def _set_scores(item: dict[str, Any]) -> SetScores:
    from app.tuning.comparison import SetComparison  # its figures' judging; imports the evaluation

    rows: dict[str, dict[str, Any]] = item["rows"]
    tuned = next(label for label in rows if label != BASE)
    comparison = SetComparison(str(item["set"]), int(item["questions"]), rows)
    return SetScores(
        comparison.name,
        comparison.questions,
        dict(rows[BASE]),
        dict(rows[tuned]),
        comparison.better(tuned),
        comparison.worse(tuned),
    )


def _label(path: Path, tuning_dir: Path) -> str:
    try:
        return str(path.resolve().relative_to(tuning_dir.resolve()))
    except ValueError:
        return str(path)
