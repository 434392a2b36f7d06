"""Prometheus collectors for one app instance: requests, answers, the model's queue, ingestion.

Each app gets its own registry (not prometheus_client's global one), so apps built side by side
— in tests, or two in one process — count separately. Answers are measured where they are made:
`Metrics` observes the Answerer's event stream, so every surface (page, JSON API, OpenAI API)
is counted.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from app.answering.answer import Answer, AnswerEvent, Done, Failed
from app.generation.generator import Generator
from app.generation.passage_cache import PassageCache
from app.services import Services
from ingest.pipeline import IngestResult

CONTENT_TYPE = CONTENT_TYPE_LATEST
REQUEST_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)
ANSWER_BUCKETS = (0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300)
RETRIEVAL_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)
SPEED_BUCKETS = (1, 2, 5, 10, 20, 30, 50, 75, 100, 200, 500)
WRITTEN = frozenset({"new", "updated"})  # ingest statuses whose chunks were stored


class Metrics:
    """The collectors, registered on this instance's own registry."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self._generator: Generator | None = None
        self._requests()
        self._answers()
        self._ingestion()
        ProcessCollector(registry=self.registry)

    def _requests(self) -> None:
        self.request_seconds = Histogram(
            "docent_http_request_duration_seconds",
            "Time from request to the last byte of the response (whole stream), by route template.",
            ["method", "route", "status"],
            buckets=REQUEST_BUCKETS,
            registry=self.registry,
        )

    def _answers(self) -> None:
        r = self.registry
        self.answers = Counter(
            "docent_answers",
            "Answers by outcome: answered, not_found, refused, busy, failed.",
            ["outcome"],
            registry=r,
        )
        self.first_token_seconds = Histogram(
            "docent_answer_first_token_seconds",
            "From the question to the first answer token.",
            buckets=ANSWER_BUCKETS,
            registry=r,
        )
        self.retrieval_seconds = Histogram(
            "docent_answer_retrieval_seconds",
            "Search time for one question (embed + query).",
            buckets=RETRIEVAL_BUCKETS,
            registry=r,
        )
        self.queue_wait_seconds = Histogram(
            "docent_answer_queue_wait_seconds",
            "Time an answer waited for its turn on the model.",
            buckets=ANSWER_BUCKETS,
            registry=r,
        )
        self.answer_seconds = Histogram(
            "docent_answer_duration_seconds",
            "From the question to the finished answer.",
            buckets=ANSWER_BUCKETS,
            registry=r,
        )
        self.tokens_per_second = Histogram(
            "docent_answer_tokens_per_second",
            "Decoding speed of one answer (after its first token).",
            buckets=SPEED_BUCKETS,
            registry=r,
        )
        self.completion_tokens = Counter(
            "docent_answer_completion_tokens", "Tokens generated for answers.", registry=r
        )
        self.prompt_tokens = Counter(
            "docent_answer_prompt_tokens",
            "Prompt tokens sent to the model for answers.",
            registry=r,
        )
        self.generation_seconds = Counter(
            "docent_answer_generation_seconds",
            "Model time for answers (prompt processing and decoding); "
            "completion tokens / this = overall generation speed.",
            registry=r,
        )
        self.in_progress = Gauge(
            "docent_answers_in_progress",
            "Answers being searched, waited for or generated.",
            registry=r,
        )
        self.queue_length = Gauge(
            "docent_generation_queue_length",
            "Requests waiting for their turn on the model (not counting the one it is answering).",
            registry=r,
        )
        self.queue_length.set_function(self._waiting)

    def _ingestion(self) -> None:
        self.documents = Counter(
            "docent_ingest_documents",
            "Files handled by ingestion, by status (new, updated, unchanged, moved, removed, "
            "failed, skipped); dry runs are not counted.",
            ["status"],
            registry=self.registry,
        )
        self.chunks = Counter(
            "docent_ingest_chunks",
            "Chunks stored for new or updated documents (a group change re-labels them).",
            registry=self.registry,
        )

    def watch_queue(self, generator: Generator) -> None:
        """Report the length of this generator's queue (none: the backend queues itself)."""
        self._generator = generator

    def watch_passage_cache(self, cache: PassageCache) -> None:
        """Report the passage cell cache's lookups and size."""
        self.registry.register(_PassageCacheCollector(cache))

    def _waiting(self) -> float:
        queue = self._generator.queue if self._generator is not None else None
        return float(max(len(queue) - 1, 0)) if queue is not None else 0.0

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        self.request_seconds.labels(method, route, str(status)).observe(seconds)

    def observe_answer(self, answer: Answer) -> None:
        t = answer.timings
        outcome = "refused" if answer.refused else "answered" if answer.found else "not_found"
        self.answers.labels(outcome).inc()
        self.retrieval_seconds.observe(t.retrieval_ms / 1000)
        self.answer_seconds.observe(t.total_ms / 1000)
        if t.first_token_ms is not None:
            self.first_token_seconds.observe(t.first_token_ms / 1000)
            self.queue_wait_seconds.observe(t.queued_ms / 1000)
            self.generation_seconds.inc(t.generation_ms / 1000)
            self.completion_tokens.inc(t.completion_tokens)
            self.prompt_tokens.inc(t.prompt_tokens)
        if t.tokens_per_second is not None:
            self.tokens_per_second.observe(t.tokens_per_second)

    # the answer stream, as an AnswerObserver: every surface's answers are counted
    def began(self) -> None:
        self.in_progress.inc()

    def saw(self, event: AnswerEvent) -> None:
        if isinstance(event, Done):
            self.observe_answer(event.answer)
        elif isinstance(event, Failed):
            self.observe_failure(event)

    def ended(self) -> None:
        self.in_progress.dec()

    def observe_failure(self, failure: Failed) -> None:
        self.answers.labels("busy" if failure.busy else "failed").inc()

    def observe_ingest(self, result: IngestResult, *, dry_run: bool = False) -> None:
        if dry_run:
            return
        self.documents.labels(result.status).inc()
        if result.status in WRITTEN:
            self.chunks.inc(result.chunks)

    def render(self) -> bytes:
        """The text exposition format (CONTENT_TYPE)."""
        return generate_latest(self.registry)


class _PassageCacheCollector(Collector):
    """The cache's own counts, read at each scrape."""

    def __init__(self, cache: PassageCache) -> None:
        self._cache = cache

    def collect(self) -> Iterator[Metric]:
        stats = self._cache.stats
        lookups = CounterMetricFamily(
            "docent_passage_cache_lookups",
            "Passage and system-prompt cells looked up in the cache, by result (hit, miss).",
            labels=["result"],
        )
        lookups.add_metric(["hit"], stats.hits)
        lookups.add_metric(["miss"], stats.misses)
        size = GaugeMetricFamily(
            "docent_passage_cache_bytes",
            "Bytes of cached cells, by tier (ram, disk).",
            labels=["tier"],
        )
        size.add_metric(["ram"], stats.ram_bytes)
        size.add_metric(["disk"], stats.disk_bytes)
        yield lookups
        yield size


def instrumented(services: Services, metrics: Metrics) -> Services:
    """A copy of `services` whose answerer reports to `metrics`; the queue and the passage
    cache are watched too."""
    metrics.watch_queue(services.generator)
    cache = getattr(services.generator, "passage_cache", None)
    if isinstance(cache, PassageCache):
        metrics.watch_passage_cache(cache)
    answerer = services.answerer
    return replace(services, answerer=replace(answerer, observers=(*answerer.observers, metrics)))
