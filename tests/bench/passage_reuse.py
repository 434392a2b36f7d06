"""What reusing computed passage cells (DOCENT_PASSAGE_CACHE_MB) buys, on one corpus.

Two generators on the same index, each with the system prompt already read (warm start): one
with the reuse off (every prompt read whole), one with it on and an empty cache. Each question is
answered three times in a row, so that other work on the machine weighs on all three alike:

- off: the prompt read whole;
- cold: on, the question's passages computed on first use (a passage an earlier question
  brought hits);
- warm: on again after the context was put back to the system prompt alone, so every passage
  comes from the cache.

Reported: time to first token, the prompt tokens the model actually computed, hit rates, bytes
kept in memory and on disk, and how many answers kept the text they had with the reuse off
(greedy decoding: a difference is the reuse's doing).
"""

from __future__ import annotations

import shutil
import statistics
from dataclasses import dataclass, field, replace
from typing import Any

from app.answering.answer import Answerer
from app.generation.generator import LlamaCppGenerator
from app.generation.passage_cache import CacheStats
from app.services import build_services, load_generator
from app.settings import Settings

ON_MB = 4096  # big enough that nothing is evicted during a run


@dataclass
class Pass:
    ttft_s: list[float] = field(default_factory=list)
    prompt_tokens: list[int] = field(default_factory=list)
    computed_tokens: list[int] = field(default_factory=list)  # what the model read now
    texts: list[str] = field(default_factory=list)
    stored_tokens: int = 0  # tokens whose cells were computed and kept
    hits: int = 0
    misses: int = 0

    def summary(self) -> dict[str, Any]:
        asked = self.hits + self.misses
        return {
            "p50_ttft_s": _median(self.ttft_s),
            "p90_ttft_s": _quantile(self.ttft_s, 0.9),
            "p50_prompt_tokens": _median(self.prompt_tokens),
            "p50_tokens_computed": _median(self.computed_tokens),
            "hit_rate": round(self.hits / asked, 3) if asked else None,
        }


def measure_reuse(settings: Settings, questions: list[str]) -> dict[str, Any]:
    """Off, cold and warm answers to each of `questions` over `settings`' data dir (its passage
    cache folder is emptied before and after)."""
    shutil.rmtree(settings.passage_cache_dir, ignore_errors=True)
    services = build_services(settings.model_copy(update={"passage_cache_mb": ON_MB}))
    reusing = services.generator
    assert isinstance(reusing, LlamaCppGenerator) and reusing.passage_cache is not None
    cache = reusing.passage_cache
    plain = load_generator(settings.model_copy(update={"passage_cache_mb": 0}))
    off_answerer = replace(services.answerer, generator=plain, rewriter=None)
    on_answerer = services.answerer
    off, cold, warm = Pass(), Pass(), Pass()
    try:
        off_answerer.warm()
        on_answerer.warm()
        for question in questions:
            _ask(off_answerer, question, off, None)
            _ask(on_answerer, question, cold, cache.stats)
            on_answerer.warm()  # the context back to the system prompt alone
            _ask(on_answerer, question, warm, cache.stats)
        stats = cache.stats
    finally:
        services.close()
        shutil.rmtree(settings.passage_cache_dir, ignore_errors=True)
    stored = cold.stored_tokens + warm.stored_tokens
    return {
        "questions": len(questions),
        "off": off.summary(),
        "cold": cold.summary(),
        "warm": warm.summary(),
        "same_text_as_off_cold": _same(off.texts, cold.texts),
        "same_text_as_off_warm": _same(off.texts, warm.texts),
        "cache_disk_mb": round(stats.disk_bytes / 2**20, 1),
        "cache_ram_mb": round(stats.ram_bytes / 2**20, 1),
        "cache_entries": stats.entries_on_disk,
        "bytes_per_token": round(stats.disk_bytes / stored) if stored else None,
        "bytes_per_entry": (
            round(stats.disk_bytes / stats.entries_on_disk) if stats.entries_on_disk else None
        ),
    }


def _ask(answerer: Answerer, question: str, into: Pass, stats: CacheStats | None) -> None:
    generator = answerer.generator
    assert isinstance(generator, LlamaCppGenerator)
    generator.last_fill = None
    hits, misses = (stats.hits, stats.misses) if stats else (0, 0)
    answer = answerer.answer(question)
    t = answer.timings
    if t.first_token_ms is not None:
        into.ttft_s.append(t.first_token_ms / 1000)
    into.prompt_tokens.append(t.prompt_tokens)
    into.texts.append(answer.model_text)
    fill = generator.last_fill
    if stats is not None and fill is not None:
        into.computed_tokens.append(fill.computed + fill.read + 1)  # + the last, read to sample
        into.stored_tokens += fill.computed
        into.hits += stats.hits - hits
        into.misses += stats.misses - misses


def _same(a: list[str], b: list[str]) -> str:
    return f"{sum(1 for x, y in zip(a, b, strict=True) if x == y)}/{len(a)}"


def _median(values: list[float] | list[int]) -> float | None:
    return round(statistics.median(values), 3) if values else None


def _quantile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 3)
