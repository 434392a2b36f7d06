"""Closing an answer stream (the client went away) stops generation and frees the model."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.answering.answer import Answerer, Done, Queued, Retrieved, Token
from app.generation.generator import FairQueue
from app.services import Services
from tests.app.answering.test_answer import _ingest
from tests.app.generation.test_answer_queue import QUESTION, Background, _holding
from tests.fakes import FakeGenerator

LONG_REPLY = " ".join(f"word{i}" for i in range(50)) + " [1]."


@pytest.fixture
def turns(services: Services, generator: FakeGenerator, tmp_path: Path) -> Answerer:
    _ingest(services, tmp_path)
    generator.queue = FairQueue()
    return services.answerer


def test_closing_the_stream_stops_the_generator_at_the_token_it_is_on(
    turns: Answerer, generator: FakeGenerator
) -> None:
    generator.enqueue(LONG_REPLY)
    stream = turns.stream(QUESTION)
    taken = 0
    for event in stream:
        if isinstance(event, Token):
            taken += 1
            if taken == 3:
                break
    stream.close()
    assert generator.yielded == [3]  # not one word more was asked of the model
    assert generator.finished == [False]
    assert generator.running == 0
    assert len(generator.queue or ()) == 0  # the turn was given back


def test_the_next_waiter_gets_the_model_when_the_holder_goes_away(
    turns: Answerer, generator: FakeGenerator
) -> None:
    generator.enqueue(LONG_REPLY, "Three days per week [1].")
    first = _holding(turns)
    second = Background(turns.stream(QUESTION))
    assert second.next_besides_retrieved() == Queued(1)
    first.close()
    rest = second.rest()
    assert isinstance(rest[-1], Done)
    assert rest[-1].answer.text == "Three days per week [1]."
    assert generator.yielded[0] == 1 and generator.finished == [False, True]
    assert generator.most_running == 1


def test_a_waiter_that_goes_away_leaves_the_line(turns: Answerer, generator: FakeGenerator) -> None:
    first = _holding(turns)
    second = turns.stream(QUESTION)
    assert isinstance(next(second), Retrieved)
    assert next(second) == Queued(1)
    third = Background(turns.stream(QUESTION))
    assert third.next_besides_retrieved() == Queued(2)
    second.close()  # gone before its turn: the third moves up
    assert third.next() == Queued(1)
    first.close()
    assert isinstance(third.rest()[-1], Done)
    assert len(generator.calls) == 2  # the one that left never reached the model
