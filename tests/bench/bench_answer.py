"""`make bench-answer`: answer latency and grounding on the demo corpus with a real model.

Prints, per question and in total: prompt tokens, time to first token, tokens/s, total time;
beside them raw llama-cpp-python on the identical prompt (the ceiling), both measured from a
cold cache. Also: what a follow-up turn saves by reusing llama.cpp's cached prompt prefix,
citation validity (share of markers whose sentence the cited passage supports, by words and
by meaning), and false refusals / false answers over the answerable and unanswerable demo
questions. A benchmark: it measures, it asserts nothing.

Then, on the demo corpus and on the real-document answer set (`eval/debian-docs`, once
`make eval-answers` has ingested it), what reusing computed passage cells does: the same
questions with the reuse off, on from an empty cache, and on again (tests/bench/passage_reuse).

    python -m tests.bench.bench_answer [--model-path GGUF] [--raw N] [--limit N] [--json]
                                        [--claims FILE] [--real N] [--reuse N]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from app.answering.answer import Answer
from app.answering.followup import Turn
from app.answering.support import SUPPORT_THRESHOLD
from app.demo import demo_documents, demo_questions
from app.evaluation.answers import read_answer_set
from app.services import Services, build_services, choose_chat_model, ingest_options
from app.settings import Settings
from ingest.pipeline import ingest_paths
from tests.bench.passage_reuse import measure_reuse

ROOT = Path(__file__).resolve().parents[2]
UNANSWERABLE = ROOT / "app" / "demo" / "unanswerable.jsonl"
REAL_SET = ROOT / "eval" / "debian-docs" / "questions.jsonl"
REAL_DATA = ROOT / "data" / "eval-debian-docs"  # where `make eval-answers` ingests it
FOLLOW_UP = ("How many days a week can I work from home?", "And from another country?")


@dataclass
class Row:
    question: str
    prompt_tokens: int
    completion_tokens: int
    ttft_s: float | None  # from the question to the first answer token (search included)
    prefill_s: float | None  # from the start of generation to the first answer token
    tokens_per_s: float | None
    total_s: float
    refused: bool
    found: bool
    markers: int
    supported: int  # markers whose sentence the passage supports (words, numbers, meaning)
    supported_by_words: int  # the same, by words and numbers only
    right_document: bool | None = None
    cold_prefill_s: float | None = None  # docent again, after emptying llama.cpp's cache
    cold_ttft_s: float | None = None  # the same run, from the question (search included)
    cold_total_s: float | None = None  # the same run, to the last token
    raw_prefill_s: float | None = None  # raw llama-cpp-python, identical prompt, cold cache
    raw_tokens_per_s: float | None = None
    raw_total_s: float | None = None


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
        answers = [services.answerer.answer(q.question) for q in answerable]
        rows = [_measure(a, q.document) for a, q in zip(answers, answerable, strict=True)]
        for row in rows[: args.raw]:
            _raw_ceiling(services, row)
        unanswerable = [json.loads(line)["question"] for line in UNANSWERABLE.open()]
        refusals = [_measure(services.answerer.answer(q), None) for q in unanswerable]
        cache = _follow_up_cache(services)
        services.close()
        reuse = {"demo": measure_reuse(settings, [q.question for q in answerable][: args.reuse])}
    reuse["real documents"] = _real_reuse(args)
    if args.claims:
        _write_claims(args.claims, answers)
    report = _report(rows, refusals, cache, services.model_title) | {"passage_reuse": reuse}
    print(json.dumps(report, indent=2) if args.json else _table(rows, report))


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-path", type=Path, default=None, help="default: DOCENT_MODEL")
    parser.add_argument("--raw", type=int, default=8, help="questions also run raw (ceiling)")
    parser.add_argument("--limit", type=int, default=None, help="answerable questions to run")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--claims", type=Path, default=None, help="write checked claims (JSONL)")
    parser.add_argument("--reuse", type=int, default=34, help="demo questions for the reuse part")
    parser.add_argument("--real", type=int, default=20, help="real-document questions (dev)")
    return parser.parse_args()


def _real_reuse(args: argparse.Namespace) -> dict[str, Any]:
    """The reuse passes over the real-document answer set's first dev questions."""
    if args.real <= 0:
        return {"skipped": "--real 0"}
    if not (REAL_DATA / "docent.sqlite3").is_file():
        return {"skipped": f"no index in {REAL_DATA}: run `make eval-answers` first"}
    model = args.model_path or choose_chat_model(Settings()).path
    settings = Settings(data_dir=REAL_DATA, model_path=model, temperature=0.0)
    items = [i for i in read_answer_set(REAL_SET) if i.split == "dev" and i.answerable]
    return measure_reuse(settings, [i.question for i in items[: args.real]])


def _settings(data: Path, model_path: Path | None) -> Settings:
    base = Settings()
    models_dir = base.models_dir.resolve()
    # the plain path here (every prompt read whole, as raw llama.cpp does); the reuse of
    # passage cells is measured on its own below (measure_reuse)
    values: dict[str, Any] = {"data_dir": data, "temperature": 0.0, "passage_cache_mb": 0}
    if model_path:
        values["model_path"] = model_path
    (data / "models").symlink_to(models_dir, target_is_directory=True)  # reuse pulled models
    return Settings(**values)


def _measure(answer: Answer, document: str | None) -> Row:
    t = answer.timings
    markers = sum(len(c.numbers) for c in answer.claims)
    by_words = sum(len(c.numbers) for c in answer.claims if c.support >= SUPPORT_THRESHOLD)
    cited = {Path(c.passage.source).name for c in answer.citations}
    return Row(
        question=answer.question,
        prompt_tokens=t.prompt_tokens,
        completion_tokens=t.completion_tokens,
        ttft_s=None if t.first_token_ms is None else t.first_token_ms / 1000,
        prefill_s=_prefill_s(answer),
        tokens_per_s=t.tokens_per_second,
        total_s=t.total_ms / 1000,
        refused=answer.refused,
        found=answer.found,
        markers=markers,
        supported=sum(len(c.numbers) for c in answer.claims if c.supported),
        supported_by_words=by_words,
        right_document=None if document is None else document in cited,
    )


def _prefill_s(answer: Answer) -> float | None:
    t = answer.timings
    return None if t.first_token_ms is None else (t.generation_ms - t.decode_ms) / 1000


def _raw_ceiling(services: Services, row: Row) -> None:
    """docent and raw llama-cpp-python on the identical prompt, each from an empty cache."""
    llama = services.generator._llama  # raw API on purpose
    llama.reset()
    answer = services.answerer.answer(row.question)
    row.cold_prefill_s = _prefill_s(answer)
    first_ms = answer.timings.first_token_ms
    row.cold_ttft_s = None if first_ms is None else first_ms / 1000
    row.cold_total_s = answer.timings.total_ms / 1000
    messages = services.answerer.prompts.messages(row.question, answer.passages)
    llama.reset()
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
    row.raw_total_s = end - started
    row.raw_prefill_s = None if first is None else first - started
    if first is not None and pieces > 1:
        row.raw_tokens_per_s = (pieces - 1) / (end - first)


def _follow_up_cache(services: Services) -> dict[str, Any]:
    """Prompt processing of a follow-up's answer: after the first turn (its rewrite in
    between), straight after the first turn, and from an empty cache."""
    first, follow_up = FOLLOW_UP
    answerer = services.answerer
    llama = services.generator._llama
    earlier = answerer.answer(first)
    turn = answerer.answer(follow_up, conversation=(Turn(first, earlier.text),))
    standalone = turn.search_query or follow_up
    answerer.answer(first)
    warm = answerer.answer(standalone)  # the same prompt, right after the first turn's
    llama.reset()
    cold = answerer.answer(standalone)
    system_tokens = services.generator.count_tokens(answerer.prompts.system())
    return {
        "follow_up": follow_up,
        "rewritten": standalone,
        "prompt_tokens": cold.timings.prompt_tokens,
        "system_prompt_tokens": system_tokens,
        "prefill_s_cold": _prefill_s(cold),
        "prefill_s_after_first_turn": _prefill_s(warm),
        "prefill_s_after_rewrite": _prefill_s(turn),
        # the follow-up as a user sees it: rewrite, search, and prompt processing, to its
        # first answer token
        "follow_up_ttft_s": (turn.timings.first_token_ms or 0.0) / 1000,
    }


def _report(
    rows: list[Row], refusals: list[Row], cache: dict[str, Any], model: str
) -> dict[str, Any]:
    answered = [r for r in rows if r.ttft_s is not None]
    raw = [r for r in rows if r.raw_prefill_s]
    markers = sum(r.markers for r in rows)
    return {
        "model": model,
        "answerable": len(rows),
        "false_refusals": sum(1 for r in rows if not r.found) / max(1, len(rows)),
        "unanswerable": len(refusals),
        "false_answers": sum(1 for r in refusals if r.found) / max(1, len(refusals)),
        "cited_right_document": sum(1 for r in rows if r.right_document) / max(1, len(rows)),
        "citation_markers": markers,
        "citation_validity": sum(r.supported for r in rows) / markers if markers else None,
        "citation_validity_by_words": (
            sum(r.supported_by_words for r in rows) / markers if markers else None
        ),
        "total_prompt_tokens": sum(r.prompt_tokens for r in rows),
        "total_completion_tokens": sum(r.completion_tokens for r in rows),
        "total_s": round(sum(r.total_s for r in rows), 1),
        "p50_ttft_s": _median([r.ttft_s for r in answered]),
        "p50_tokens_per_s": _median([r.tokens_per_s for r in answered]),
        "p50_total_s": _median([r.total_s for r in rows]),
        "raw_questions": len(raw),
        "prefill_vs_raw": _median([_ratio(r.cold_prefill_s, r.raw_prefill_s) for r in raw]),
        "ttft_vs_raw_prefill": _median([_ratio(r.cold_ttft_s, r.raw_prefill_s) for r in raw]),
        "prefill_vs_raw_each": [_round(_ratio(r.cold_prefill_s, r.raw_prefill_s)) for r in raw],
        "tokens_per_s_vs_raw": _median([_ratio(r.tokens_per_s, r.raw_tokens_per_s) for r in raw]),
        "raw_total_s": round(sum(r.raw_total_s or 0.0 for r in raw), 1),
        # both from an empty cache (the first pass above reused the system prompt's cells)
        "docent_cold_total_s_same_questions": round(sum(r.cold_total_s or 0.0 for r in raw), 1),
        "follow_up_cache": cache,
    }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def _ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a and b else None


def _median(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return round(statistics.median(present), 3) if present else None


def _table(rows: list[Row], report: dict[str, Any]) -> str:
    lines = [
        f"{'question':50} {'prompt':>6} {'ttft':>6} {'prefill':>7} {'cold':>6} {'raw':>6}"
        f" {'tok/s':>6} {'raw':>6} {'total':>6} {'raw':>6} cite"
    ]
    for r in rows:
        lines.append(
            f"{r.question[:50]:50} {r.prompt_tokens:6d} {_f(r.ttft_s):>6} {_f(r.prefill_s):>7}"
            f" {_f(r.cold_prefill_s):>6} {_f(r.raw_prefill_s):>6} {_f(r.tokens_per_s):>6}"
            f" {_f(r.raw_tokens_per_s):>6} {r.total_s:6.1f} {_f(r.raw_total_s):>6}"
            f" {r.supported}/{r.markers}{'' if r.right_document else ' (wrong or no doc)'}"
        )
    lines.append(json.dumps(report, indent=2))
    return "\n".join(lines)


def _f(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _write_claims(path: Path, answers: list[Answer]) -> None:
    """Each checked claim with its cited passage, for labelling and threshold choice."""
    with path.open("w", encoding="utf-8") as out:
        for answer in answers:
            for claim in answer.claims:
                cited = answer.passages[(claim.best or claim.numbers[0]) - 1]
                record = asdict(claim) | {"question": answer.question, "passage": cited.text}
                out.write(json.dumps(record, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
