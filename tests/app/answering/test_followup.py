from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from app.answering.answer import Rewritten
from app.answering.followup import Turn, condense, needs_context
from app.generation.prompting import Prompts
from app.services import Services
from tests.app.sample import ingest_text
from tests.fakes import FakeEmbedder, FakeGenerator

LEAVE_DOC = (
    "# Leave\n\nEmployees get 28 days of annual leave.\n\n"
    "## Contractors\n\nContractors do not get paid annual leave from Northwind.\n"
)
LEAVE = [Turn("How many days of annual leave do employees get?", "28 days [1].")]


@pytest.mark.parametrize(
    "question",
    ["And contractors?", "What about contractors?", "Does that apply to interns?", "Why?"],
)
def test_questions_that_lean_on_the_conversation_need_it(question: str) -> None:
    assert needs_context(question, LEAVE)


@pytest.mark.parametrize(
    "question",
    ["How many days of parental leave do fathers get?", "Which app is used for MFA pushes?"],
)
def test_standalone_questions_are_left_alone(question: str) -> None:
    assert not needs_context(question, LEAVE)
    assert not needs_context("And contractors?", [])  # nothing to lean on


def test_condense_asks_the_model_and_takes_its_first_line() -> None:
    generator = FakeGenerator()
    generator.enqueue("How many days of annual leave do contractors get?\n(rewritten)")
    query = condense("And contractors?", LEAVE, generator, Prompts())
    assert query == "How many days of annual leave do contractors get?"
    prompt = generator.calls[0][0].content
    assert "How many days of annual leave do employees get?" in prompt
    assert prompt.rstrip().endswith("Standalone question:")


def test_an_empty_rewrite_falls_back_to_joining_the_turns() -> None:
    generator = FakeGenerator(default_reply="")
    query = condense("And contractors?", LEAVE, generator, Prompts())
    assert query == "How many days of annual leave do employees get? And contractors?"


def test_follow_up_is_rewritten_searched_and_shown(
    services: Services, generator: FakeGenerator, embedder: FakeEmbedder, tmp_path: Path
) -> None:
    ingest_text(services, tmp_path / "leave.md", LEAVE_DOC)
    generator.enqueue("Do contractors get paid annual leave?", "No, contractors do not [1].")

    events = list(services.answerer.stream("And contractors?", conversation=LEAVE))

    assert events[0] == Rewritten("Do contractors get paid annual leave?")
    assert ["Do contractors get paid annual leave?"] in embedder.batches  # what was searched
    answer = events[-1].answer
    assert answer.question == "And contractors?"
    assert answer.search_query == "Do contractors get paid annual leave?"
    assert "Contractors do not get paid annual leave" in generator.calls[1][1].content


def test_standalone_question_in_a_conversation_costs_no_rewrite(
    services: Services, generator: FakeGenerator
) -> None:
    services.answerer.answer("How many days of parental leave do fathers get?", conversation=LEAVE)
    assert all("Standalone question" not in m.content for call in generator.calls for m in call)


def test_a_rewriter_takes_the_rewrite_and_the_answering_model_only_the_answer(
    services: Services, generator: FakeGenerator, tmp_path: Path
) -> None:
    """With a separate rewriter (llama.cpp: the same context, its cached prompt put back
    afterwards), the answering model is asked only for the answer."""
    ingest_text(services, tmp_path / "leave.md", LEAVE_DOC)
    rewriter = FakeGenerator()
    rewriter.enqueue("Do contractors get paid annual leave?")
    generator.enqueue("No, contractors do not get paid annual leave [1].")
    answerer = replace(services.answerer, rewriter=rewriter)
    answer = answerer.answer("And contractors?", conversation=LEAVE)
    assert answer.search_query == "Do contractors get paid annual leave?"
    assert len(rewriter.calls) == 1 and "Standalone question:" in rewriter.calls[0][0].content
    assert len(generator.calls) == 1 and generator.calls[0][0].role == "system"
