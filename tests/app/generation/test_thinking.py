from __future__ import annotations

from pathlib import Path

import pytest

from app.generation.thinking import ThinkingFilter, without_thinking
from tests.app.sample import ingest_remote_work
from tests.fakes import FakeGenerator


@pytest.mark.parametrize(
    "pieces",
    [
        ["<think>plan it</think>The answer [1]."],
        ["<th", "ink>plan", " it</th", "ink>The ", "answer [1]."],
        ["<think>", "plan it", "</think>", "The answer [1]."],
    ],
)
def test_reasoning_is_kept_out_however_the_stream_is_cut(pieces: list[str]) -> None:
    thinking = ThinkingFilter()
    assert "".join(without_thinking(pieces, thinking)) == "The answer [1]."
    assert "".join(thinking.reasoning) == "plan it"


def test_text_that_only_looks_like_a_tag_is_kept() -> None:
    thinking = ThinkingFilter()
    assert "".join(without_thinking(["a <th", "ing> b <", "t"], thinking)) == "a <thing> b <t"
    assert thinking.reasoning == []


def test_answer_object_keeps_reasoning_aside(services: object, generator: FakeGenerator) -> None:
    from app.services import Services

    assert isinstance(services, Services)
    ingest_remote_work(services, Path.cwd())
    generator.enqueue("<think>The source says three.</think> Three days per week [1].")
    answer = services.answerer.answer("How many remote days?")
    assert answer.text == "Three days per week [1]."
    assert answer.reasoning == "The source says three."
