"""`make bench-answer`: answer latency and grounding on the demo corpus with a real model.

Prints, per question and in total: prompt tokens, time to first token, tokens/s, total time;
beside them raw llama-cpp-python on the identical prompt (the ceiling). Also: the prefix-cache
effect (the same static system prompt before every question), citation validity (share of
markers whose sentence the cited passage supports), and false refusals / false answers over the
answerable and unanswerable demo questions. A benchmark: it measures, it asserts nothing.

    python -m tests.bench.bench_answer [--model-path GGUF] [--raw N] [--limit N] [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.answer import Answer
from app.demo import demo_documents, demo_questions
from app.services import build_services, ingest_options
from app.settings import Settings
from ingest.pipeline import ingest_paths

UNANSWERABLE = Path(__file__).resolve().parents[2] / "app" / "demo" / "unanswerable.jsonl"


@dataclass
class Row:
    question: str
    prompt_tokens: int
    ttft_s: float | None
    tokens_per_s: float | None
    total_s: float
    refused: bool
    found: bool
    markers: int
    supported: int
    right_document: bool | None = None
    raw_ttft_s: float | None = None
    raw_tokens_per_s: float | None = None


def main() -> None:
    args = _arguments()
    with tempfile.TemporaryDirectory() as data:
        settings = _settings(Path(data), args.model_path)
        services = build_services(settings)
        ingest_paths(
            demo_documents(),
            embedder=services.embedder,
            store=services.store,
            catalog=services.catalog,
            options=ingest_options(settings),
        )
        answerable = demo_questions()[: args.limit]
        rows = [_measure(services.answerer.answer(q.question), q.document) for q in answerable]
        for row in rows[: args.raw]:
            _raw_ceiling(services, row)
        unanswerable = [json.loads(line)["question"] for line in UNANSWERABLE.open()]
        refusals = [_measure(services.answerer.answer(q), None) for q in unanswerable]
        cache = _prefix_cache_effect(services)
        services.close()
    report = _report(rows, refusals, cache, services.model_title)
    print(json.dumps(report, indent=2) if args.json else _table(rows, report))


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-path", type=Path, default=None, help="default: DOCENT_MODEL")
    parser.add_argument("--raw", type=int, default=8, help="questions also run raw (ceiling)")
    parser.add_argument("--limit", type=int, default=None, help="answerable questions to run")
    parser.add_argument("--json", action="store_true")
    return parser.parse_args()


def _settings(data: Path, model_path: Path | None) -> Settings:
    base = Settings()
    models_dir = base.models_dir.resolve()
    values: dict[str, Any] = {"data_dir": data, "temperature": 0.0}
    if model_path:
        values["model_path"] = model_path
    settings = base.model_copy(update=values)
    (data / "models").symlink_to(models_dir, target_is_directory=True)  # reuse pulled models
    return settings


def _measure(answer: Answer, document: str | None) -> Row:
    t = answer.timings
    supported = sum(1 for c in answer.claims for _ in c.numbers if c.supported)
    markers = sum(len(c.numbers) for c in answer.claims)
    cited = {Path(c.passage.source).name for c in answer.citations}
    return Row(
        question=answer.question,
        prompt_tokens=t.prompt_tokens,
        ttft_s=None if t.first_token_ms is None else t.first_token_ms / 1000,
        tokens_per_s=t.tokens_per_second,
        total_s=t.total_ms / 1000,
        refused=answer.refused,
        found=answer.found,
        markers=markers,
        supported=supported,
        right_document=None if document is None else document in cited,
    )


def _raw_ceiling(services: Any, row: Row) -> None:
    """The identical prompt straight through llama-cpp-python (no docent in between)."""
    answer = services.answerer.answer(row.question)
    messages = services.answerer.prompts.messages(row.question, answer.passages)
    llama = services.generator._llama  # the same loaded model; raw API on purpose
    llama.reset()  # a cold cache, like docent's first sight of this question
    started = time.perf_counter()
    first: float | None = None
    pieces = 0
    for chunk in llama.create_chat_completion(
        messages=[{"role": m.role, "content": m.content} for m in messages],
        max_tokens=services.answerer.options.max_answer_tokens,
        temperature=0.0,
        stream=True,
    ):
        if chunk["choices"][0]["delta"].get("content"):
            pieces += 1
            first = first or time.perf_counter()
    end = time.perf_counter()
    row.raw_ttft_s = None if first is None else first - started
    if first is not None and pieces > 1:
        row.raw_tokens_per_s = (pieces - 1) / (end - first)


def _prefix_cache_effect(services: Any) -> dict[str, float]:
    """Prompt processing with and without llama.cpp's cached system-prompt prefix."""
    question = demo_questions()[0].question
    llama = services.generator._llama
    llama.reset()
    cold = services.answerer.answer(question).timings.first_token_ms or 0.0
    warm = services.answerer.answer(question.replace("?", " please?")).timings.first_token_ms
    return {"cold_ttft_s": cold / 1000, "warm_prefix_ttft_s": (warm or 0.0) / 1000}


def _report(
    rows: list[Row], refusals: list[Row], cache: dict[str, float], model: str
) -> dict[str, Any]:
    answered = [r for r in rows if r.ttft_s is not None]
    raw = [r for r in rows if r.raw_ttft_s]
    markers = sum(r.markers for r in rows)
    return {
        "model": model,
        "answerable": len(rows),
        "false_refusals": sum(1 for r in rows if not r.found) / max(1, len(rows)),
        "unanswerable": len(refusals),
        "false_answers": sum(1 for r in refusals if r.found) / max(1, len(refusals)),
        "cited_right_document": sum(1 for r in rows if r.right_document) / max(1, len(rows)),
        "citation_validity": sum(r.supported for r in rows) / markers if markers else None,
        "p50_ttft_s": _median([r.ttft_s for r in answered]),
        "p50_tokens_per_s": _median([r.tokens_per_s for r in answered]),
        "p50_total_s": _median([r.total_s for r in rows]),
        "ttft_vs_raw": _median([r.ttft_s / r.raw_ttft_s for r in raw if r.ttft_s and r.raw_ttft_s]),
        "tokens_per_s_vs_raw": _median(
            [
                r.tokens_per_s / r.raw_tokens_per_s
                for r in raw
                if r.tokens_per_s and r.raw_tokens_per_s
            ]
        ),
        "prefix_cache": cache,
    }


def _median(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return round(statistics.median(present), 3) if present else None


def _table(rows: list[Row], report: dict[str, Any]) -> str:
    lines = [
        f"{'question':58} {'prompt':>6} {'ttft s':>7} {'raw':>6} {'tok/s':>6} {'raw':>6}"
        f" {'total':>6} cite"
    ]
    for r in rows:
        lines.append(
            f"{r.question[:58]:58} {r.prompt_tokens:6d} {_f(r.ttft_s):>7} {_f(r.raw_ttft_s):>6}"
            f" {_f(r.tokens_per_s):>6} {_f(r.raw_tokens_per_s):>6} {r.total_s:6.1f}"
            f" {r.supported}/{r.markers}{'' if r.right_document else ' (wrong or no doc)'}"
        )
    lines.append(json.dumps(report, indent=2))
    return "\n".join(lines)


def _f(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


if __name__ == "__main__":
    main()
