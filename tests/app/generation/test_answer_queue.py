"""Requests take turns on the model: first come, first served, told their place, timed out."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path

import httpx
import pytest

from app.answering.answer import (
    Answerer,
    AnswerEvent,
    Done,
    Events,
    Failed,
    Queued,
    Retrieved,
    Rewritten,
    Token,
)
from app.answering.followup import Turn
from app.generation.generator import FairQueue, GenerationFailed, ModelBusy
from app.generation.http_server import OpenAIGenerator
from app.services import Services
from tests.app.answering.test_answer import _ingest
from tests.fakes import FakeEmbedder, FakeGenerator

QUESTION = "How many days per week can I work remotely?"
WAIT = 5.0  # seconds a test waits for another thread before it fails


@pytest.fixture
def turns(services: Services, generator: FakeGenerator, tmp_path: Path) -> Answerer:
    """An answerer whose generator has one context that requests must queue for."""
    _ingest(services, tmp_path)
    generator.queue = FairQueue()
    return services.answerer


class Background:
    """Consumes an answer stream in a thread; the test reads its events as they come."""

    def __init__(
        self, stream: Events, pause_at_first_token: bool = False, wait: float = WAIT
    ) -> None:
        self.wait = wait  # seconds to wait for each event before failing
        self.events: queue.Queue[AnswerEvent | None] = queue.Queue()
        self.resume = threading.Event()  # a paused consumer holds the model until this is set
        if not pause_at_first_token:
            self.resume.set()
        self._thread = threading.Thread(target=self._run, args=(stream,), daemon=True)
        self._thread.start()

    def _run(self, stream: Events) -> None:
        for event in stream:
            self.events.put(event)
            if isinstance(event, Token):
                self.resume.wait(self.wait)
        self.events.put(None)

    def next(self) -> AnswerEvent | None:
        return self.events.get(timeout=self.wait)

    def next_besides_retrieved(self) -> AnswerEvent | None:
        event = self.next()
        return self.next() if isinstance(event, Retrieved) else event

    def rest(self) -> list[AnswerEvent]:
        events = []
        while (event := self.next()) is not None:
            events.append(event)
        self._thread.join(self.wait)
        return events


def _holding(answerer: Answerer, question: str = QUESTION) -> Iterator[AnswerEvent]:
    """A stream paused at its first answer token: it holds the model."""
    stream = answerer.stream(question)
    for event in stream:
        if isinstance(event, Token):
            return stream
    raise AssertionError("the stream never reached the model")


def test_fair_queue_counts_who_is_ahead_and_lets_them_in_in_order() -> None:
    line = FairQueue()
    first, second, third = line.join(), line.join(), line.join()
    assert list(first.wait()) == []  # nobody ahead: its turn at once
    places: queue.Queue[int | None] = queue.Queue()

    def wait_in_line() -> None:
        for ahead in third.wait(timeout=WAIT):
            places.put(ahead)
        places.put(None)  # its turn

    threading.Thread(target=wait_in_line, daemon=True).start()
    assert places.get(timeout=WAIT) == 2
    first.leave()
    assert list(second.wait(timeout=WAIT)) == []
    assert places.get(timeout=WAIT) == 1
    second.leave()
    assert places.get(timeout=WAIT) is None
    third.leave()
    third.leave()  # leaving twice is harmless
    assert len(line) == 0


def test_a_wait_past_its_limit_raises_and_leaves_the_line() -> None:
    line = FairQueue()
    holder, waiter = line.join(), line.join()
    started = time.monotonic()
    places: list[int] = []
    with pytest.raises(ModelBusy, match="1 ahead of yours"):
        places.extend(waiter.wait(timeout=0.2))
    assert places == [1]
    assert 0.2 <= time.monotonic() - started < WAIT
    assert len(line) == 1  # only the holder is left
    holder.leave()


def test_nobody_ahead_means_no_queued_event(turns: Answerer, generator: FakeGenerator) -> None:
    events = list(turns.stream(QUESTION))
    assert not any(isinstance(e, Queued) for e in events)
    assert isinstance(events[-1], Done)
    assert len(generator.queue or ()) == 0  # the turn was given back


def test_a_second_request_is_told_its_place_and_runs_after_the_first(
    turns: Answerer, generator: FakeGenerator
) -> None:
    generator.enqueue("First answer, three days [1].", "Second answer, three days [1].")
    first = _holding(turns)
    second = Background(turns.stream(QUESTION))
    assert second.next_besides_retrieved() == Queued(1)
    assert len(generator.calls) == 1  # the second waits: it has not reached the model

    first_rest = list(first)
    assert isinstance(first_rest[-1], Done)
    rest = second.rest()
    assert isinstance(rest[-1], Done)
    assert rest[-1].answer.text.startswith("Second answer")
    assert rest[-1].answer.timings.queued_ms > 0
    assert generator.most_running == 1 and generator.finished == [True, True]


def test_waiters_are_served_first_come_first_served(
    turns: Answerer, generator: FakeGenerator
) -> None:
    first = _holding(turns, "remote work question from A")
    second = Background(turns.stream("remote work question from B"), pause_at_first_token=True)
    assert second.next_besides_retrieved() == Queued(1)
    third = Background(turns.stream("remote work question from C"))
    assert third.next_besides_retrieved() == Queued(2)

    list(first)  # A finishes: B's turn (it pauses at its first token), C moves up one
    assert isinstance(second.next(), Token)
    assert third.next() == Queued(1)
    second.resume.set()
    assert isinstance(second.rest()[-1], Done)
    assert isinstance(third.rest()[-1], Done)
    asked = [call[-1].content.split("Question: ")[1].split("\n")[0] for call in generator.calls]
    assert [q[-1] for q in asked] == ["A", "B", "C"]
    assert generator.most_running == 1


def test_a_wait_past_the_limit_ends_in_a_busy_event_not_a_hang(
    turns: Answerer, generator: FakeGenerator
) -> None:
    impatient = replace(turns, options=replace(turns.options, queue_timeout=0.2))
    first = _holding(impatient)
    started = time.monotonic()
    events = list(impatient.stream(QUESTION))
    assert time.monotonic() - started < WAIT
    assert Queued(1) in events
    failed = events[-1]
    assert isinstance(failed, Failed) and failed.busy
    assert "busy" in failed.message
    assert not any(isinstance(e, (Token, Done)) for e in events)
    with pytest.raises(ModelBusy):
        impatient.answer(QUESTION)
    assert len(generator.calls) == 1  # neither waiter reached the model
    assert isinstance(list(first)[-1], Done)  # the holder was not disturbed
    assert isinstance(list(impatient.stream(QUESTION))[-1], Done)  # free again


def test_an_unreachable_model_server_ends_in_a_failed_event(
    services: Services, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    _ingest(services, tmp_path)
    down = httpx.MockTransport(lambda request: httpx.Response(503, text="model overloaded"))
    server = OpenAIGenerator(
        "http://model.invalid/v1", model="m", context_length=4096, transport=down
    )
    answerer = replace(services.answerer, generator=server)
    events = list(answerer.stream(QUESTION))
    failed = events[-1]
    assert isinstance(failed, Failed) and not failed.busy
    assert "not answering" in failed.message
    assert "model.invalid" not in failed.message and "overloaded" not in failed.message
    assert "503" in caplog.text and "model overloaded" in caplog.text  # for the operator
    with pytest.raises(GenerationFailed, match="not answering"):
        answerer.answer(QUESTION)


def test_a_follow_up_waits_before_its_rewrite_and_keeps_its_turn_for_the_answer(
    turns: Answerer, generator: FakeGenerator
) -> None:
    generator.enqueue("First answer [1].", "How many remote days do contractors get?")
    first = _holding(turns)
    conversation = (Turn(QUESTION, "Three days per week [1]."),)
    follow_up = Background(turns.stream("And for contractors?", conversation=conversation))
    assert follow_up.next() == Queued(1)  # before the rewrite, which needs the model too
    list(first)
    rest = follow_up.rest()
    assert isinstance(rest[0], Rewritten)
    assert not any(isinstance(e, Queued) for e in rest)  # one turn for rewrite and answer
    assert isinstance(rest[-1], Done)
    assert len(generator.calls) == 3 and generator.most_running == 1


class LineWatchingEmbedder(FakeEmbedder):
    """Notes how many requests are in the model's line each time it embeds."""

    def __init__(self, line: FairQueue) -> None:
        super().__init__()
        self.line = line
        self.line_lengths: list[int] = []

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        self.line_lengths.append(len(self.line))
        return super().embed(texts)


def test_the_model_is_free_while_the_answer_is_checked(
    turns: Answerer, generator: FakeGenerator
) -> None:
    assert generator.queue is not None
    watching = LineWatchingEmbedder(generator.queue)
    answerer = replace(turns, embedder=watching)
    generator.enqueue("You may work remotely three days per week [1].")
    answer = answerer.answer(QUESTION)
    assert answer.claims and answer.claims[0].similarity is not None  # checked by meaning
    assert watching.line_lengths[-1] == 0  # the citation check ran after the turn was given back
