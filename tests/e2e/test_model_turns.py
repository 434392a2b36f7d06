"""The real llama.cpp context under two requests: turns, and a client that goes away."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from app.answering.answer import Done, Queued, Retrieved, Token
from app.answering.followup import Turn, condense
from app.demo import demo_documents
from app.generation.generator import Aside, LlamaCppGenerator
from app.services import Services
from tests.app.generation.test_answer_queue import Background
from tests.e2e.real import real_services

pytestmark = pytest.mark.slow
QUESTION = "How many weeks of fully paid parental leave does a primary carer get?"
TAKEN = 3  # answer tokens the client reads before it goes away


@pytest.fixture(scope="module")
def services(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Services]:
    handbook = [p for p in demo_documents() if p.name == "employee-handbook.md"]
    services = real_services(tmp_path_factory.mktemp("turns"), handbook)
    yield services
    services.close()


def test_a_client_that_goes_away_stops_decoding_within_a_token_or_two(
    services: Services,
) -> None:
    generator = services.generator
    assert isinstance(generator, LlamaCppGenerator)
    full = services.answerer.answer(QUESTION)
    assert full.timings.completion_tokens > TAKEN + 5  # there was more to come

    stream = services.answerer.stream(QUESTION)
    tokens = 0
    for event in stream:
        if isinstance(event, Token):
            tokens += 1
            if tokens == 1:
                after_first = generator.cached_tokens
            if tokens == TAKEN:
                break
    stream.close()
    decoded_after_first = generator.cached_tokens - after_first
    assert decoded_after_first <= TAKEN - 1 + 2, decoded_after_first
    assert generator.queue is not None and len(generator.queue) == 0


def test_the_next_request_runs_when_the_one_holding_the_model_goes_away(
    services: Services,
) -> None:
    first = services.answerer.stream(QUESTION)
    assert any(isinstance(event, Token) for event in first)  # holds the model now
    second = Background(services.answerer.stream(QUESTION), wait=300)
    assert isinstance(second.next(), Retrieved)
    assert second.next() == Queued(1)
    first.close()
    rest = second.rest()
    assert isinstance(rest[-1], Done), rest[-1]
    answer = rest[-1].answer
    assert answer.text.strip() and answer.timings.completion_tokens > TAKEN
    assert answer.timings.queued_ms > 0


def test_a_follow_up_rewrite_leaves_the_answering_context_cached(services: Services) -> None:
    """The rewrite puts the cached prompt back: afterwards the context holds the previous
    answer's tokens, and their cells are right: answering from them gives, token for token,
    what answering from the cells left by the answer itself gives."""
    generator = services.generator
    rewriter = services.answerer.rewriter
    assert isinstance(generator, LlamaCppGenerator) and isinstance(rewriter, Aside)
    earlier = services.answerer.answer(QUESTION)
    reference = services.answerer.answer(QUESTION)  # its whole prompt already cached
    cached = list(generator._llama.input_ids[: generator.cached_tokens])  # raw API on purpose
    conversation = [Turn(QUESTION, earlier.text)]
    query = condense("And for the second carer?", conversation, rewriter, services.answerer.prompts)
    assert query.strip() and generator.cached_tokens > 0
    assert list(generator._llama.input_ids[: generator.cached_tokens]) == cached
    again = services.answerer.answer(QUESTION)
    assert again.text == reference.text
