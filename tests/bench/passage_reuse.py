"""What reusing computed passage cells (DOCENT_PASSAGE_CACHE_MB) buys, on one corpus.

The same questions are answered three times on the same index: with the reuse off (every
prompt read whole, the system prompt already read at start), then on with an empty cache
(cold: passages computed on first use; repeats across questions hit), then on again (warm:
every passage cached). Reported: time to first token, the prompt tokens the model actually
read, hit rates, bytes kept in memory and on disk, and how many answers kept the text they
had with the reuse off (greedy decoding: a difference is the reuse's doing).
"""

from __future__ import annotations

import shutil
import statistics
from dataclasses import dataclass, field
from typing import Any

from app.generation.generator import LlamaCppGenerator
from app.generation.prompt_cells import FillReport
from app.services import Services, build_services
from app.settings import Settings


@dataclass
class Pass:
    ttft_s: list[float] = field(default_factory=list)
    prompt_tokens: list[int] = field(default_factory=list)
    read_tokens: list[int] = field(default_factory=list)  # tokens the model computed now
    texts: list[str] = field(default_factory=list)
    computed: int = 0  # tokens whose cells were computed and stored in this pass

    def add(
        self, ttft_ms: float | None, prompt_tokens: int, text: str, fill: FillReport | None
    ) -> None:
        if ttft_ms is not None:
            self.ttft_s.append(ttft_ms / 1000)
        self.prompt_tokens.append(prompt_tokens)
        self.texts.append(text)
        if fill is None:  # reuse off, or declined before generation
            return
        self.read_tokens.append(fill.computed + fill.read + 1)  # + the last, read by sampling
        self.computed += fill.computed

    def summary(self) -> dict[str, Any]:
        return {
            "p50_ttft_s": _median(self.ttft_s),
            "p90_ttft_s": _quantile(self.ttft_s, 0.9),
            "p50_prompt_tokens": _median(self.prompt_tokens),
            "p50_tokens_read": _median(self.read_tokens),
        }


def measure_reuse(settings: Settings, questions: list[str]) -> dict[str, Any]:
    """Off, cold and warm passes over `questions` with `settings`' data dir (its passage
    cache folder is emptied first)."""
    shutil.rmtree(settings.passage_cache_dir, ignore_errors=True)
    off = _answer_off(settings.model_copy(update={"passage_cache_mb": 0}), questions)
    services = build_services(settings.model_copy(update={"passage_cache_mb": 4096}))
    try:
        services.answerer.warm()
        cold, cold_stats = _pass(services, questions)
        warm, warm_stats = _pass(services, questions)
        generator = services.generator
        assert isinstance(generator, LlamaCppGenerator) and generator.passage_cache
        stats = generator.passage_cache.stats
        stored_tokens = cold.computed + warm.computed
    finally:
        services.close()
        shutil.rmtree(settings.passage_cache_dir, ignore_errors=True)
    return {
        "questions": len(questions),
        "off": off.summary(),
        "cold": cold.summary() | {"hit_rate": cold_stats},
        "warm": warm.summary() | {"hit_rate": warm_stats},
        "same_text_as_off_cold": _same(off.texts, cold.texts),
        "same_text_as_off_warm": _same(off.texts, warm.texts),
        "cache_disk_mb": round(stats.disk_bytes / 2**20, 1),
        "cache_ram_mb": round(stats.ram_bytes / 2**20, 1),
        "cache_entries": stats.entries_on_disk,
        "bytes_per_token": round(stats.disk_bytes / stored_tokens) if stored_tokens else None,
        "bytes_per_entry": (
            round(stats.disk_bytes / stats.entries_on_disk) if stats.entries_on_disk else None
        ),
    }


def _answer_off(settings: Settings, questions: list[str]) -> Pass:
    services = build_services(settings)
    try:
        services.answerer.warm()  # the same start as the reuse passes: system prompt read
        return _pass(services, questions)[0]
    finally:
        services.close()


def _pass(services: Services, questions: list[str]) -> tuple[Pass, float | None]:
    generator = services.generator
    cache = generator.passage_cache if isinstance(generator, LlamaCppGenerator) else None
    hits_before = (cache.stats.hits, cache.stats.misses) if cache else (0, 0)
    result = Pass()
    for question in questions:
        if isinstance(generator, LlamaCppGenerator):
            generator.last_fill = None
        answer = services.answerer.answer(question)
        fill = generator.last_fill if isinstance(generator, LlamaCppGenerator) else None
        t = answer.timings
        result.add(t.first_token_ms, t.prompt_tokens, answer.model_text, fill)
    if cache is None:
        return result, None
    hits = cache.stats.hits - hits_before[0]
    misses = cache.stats.misses - hits_before[1]
    return result, round(hits / (hits + misses), 3) if hits + misses else None


def _same(a: list[str], b: list[str]) -> str:
    return f"{sum(1 for x, y in zip(a, b, strict=True) if x == y)}/{len(a)}"


def _median(values: list[float] | list[int]) -> float | None:
    return round(statistics.median(values), 3) if values else None


def _quantile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 3)
