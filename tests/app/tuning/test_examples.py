"""The training set's JSONL: written and read back, checked line by line, split stably."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from app.generation.generator import ChatMessage
from app.tuning.examples import (
    TrainingExample,
    TrainingSet,
    TrainingSetError,
    held_out,
    read_training_set,
    with_split,
    write_training_set,
)


def _example(id: str = "kb-1", target: str = "Three days [1].", **extra: object) -> TrainingExample:
    messages = (
        ChatMessage("system", "You are docent."),
        ChatMessage("user", "Sources: ...\n\nQuestion: How many days?"),
        ChatMessage("assistant", target),
    )
    return TrainingExample(id, "knowledge", "How many days?", messages, **extra)  # type: ignore[arg-type]


def test_a_training_set_round_trips_through_its_jsonl(tmp_path: Path) -> None:
    examples = [
        _example(document="handbook/remote.md"),
        _example("fix-2", note="corrected by boss on 2026-03-02 09:00 UTC", split="heldout"),
    ]
    path = write_training_set(tmp_path / "tuning" / "training.jsonl", examples)
    assert read_training_set(path).examples == examples
    first = json.loads(path.read_text().splitlines()[0])
    assert first["messages"][-1] == {"role": "assistant", "content": "Three days [1]."}
    assert "note" not in first  # only written when there is one


def test_an_edited_line_is_read_as_edited_and_a_broken_one_named(tmp_path: Path) -> None:
    path = write_training_set(tmp_path / "t.jsonl", [_example(), _example("kb-2")])
    lines = path.read_text().splitlines()
    edited = json.loads(lines[1])
    edited["messages"][-1]["content"] = "Up to three days per week [1]."
    path.write_text("# reviewed by boss\n" + lines[0] + "\n\n" + json.dumps(edited) + "\n")
    assert read_training_set(path).examples[1].target == "Up to three days per week [1]."

    edited["messages"] = edited["messages"][:-1]
    path.write_text(lines[0] + "\n" + json.dumps(edited) + "\n")
    with pytest.raises(TrainingSetError, match=r"t\.jsonl:2: messages must end with"):
        read_training_set(path)


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"origin": "guessed"}, "unknown origin 'guessed'"),
        ({"split": "test"}, "unknown split 'test'"),
        (
            {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": " "}]},
            "the target\\) is empty",
        ),
        (
            {
                "messages": [
                    {"role": "robot", "content": "q"},
                    {"role": "assistant", "content": "a"},
                ]
            },
            "unknown role",
        ),
    ],
)
def test_wrong_fields_are_refused_with_the_line(
    tmp_path: Path, change: dict[str, object], error: str
) -> None:
    record = _example().record() | change
    path = tmp_path / "t.jsonl"
    path.write_text(json.dumps(record) + "\n")
    with pytest.raises(TrainingSetError, match=f"t.jsonl:1: .*{error}"):
        read_training_set(path)


def test_a_missing_or_empty_set_says_how_to_build_one(tmp_path: Path) -> None:
    with pytest.raises(TrainingSetError, match="docent tune data"):
        read_training_set(tmp_path / "none.jsonl")
    (tmp_path / "empty.jsonl").write_text("\n# nothing\n")
    with pytest.raises(TrainingSetError, match="no examples"):
        read_training_set(tmp_path / "empty.jsonl")


def test_the_split_is_stable_per_group_and_near_the_share_asked() -> None:
    groups = [f"chunk-{i}" for i in range(1000)]
    first = [held_out(g, 20) for g in groups]
    assert first == [held_out(g, 20) for g in groups]
    assert 150 < first.count("heldout") < 250
    assert {held_out(g, 0) for g in groups} == {"train"}
    twins = with_split([_example("kb-1"), _example("oos-1")], "chunk-7", 50)
    assert twins[0].split == twins[1].split  # a question and its out-of-scope twin together


def test_an_example_becomes_a_question_of_the_answer_evaluation() -> None:
    item = _example(document="handbook/remote.md", split="heldout").answer_item()
    assert (item.question, item.answerable, item.document) == (
        "How many days?",
        True,
        "handbook/remote.md",
    )
    assert (item.source, item.split, item.answer) == ("knowledge", "heldout", "Three days [1].")
    declined = TrainingExample(
        "oos-1", "out_of_scope", "q?", _example().messages, answerable=False
    ).answer_item()
    assert not declined.answerable and declined.answer == ""


def test_the_held_out_questions_leave_out_the_out_of_scope_twins() -> None:
    """A twin's answer was hidden from its prompt only; the pipeline searches the whole
    knowledge base and finds it, so asking it there would score a right answer as false."""
    twin = TrainingExample(
        "oos-1", "out_of_scope", "How many days?", _example().messages, answerable=False
    )
    examples = [
        _example("kb-1", split="heldout"),
        replace(twin, split="heldout"),
        _example("kb-2", split="train"),
        replace(_example("fix-3", split="heldout"), origin="corrected"),
    ]
    questions = TrainingSet(examples).heldout_questions()
    assert [q.id for q in questions] == ["kb-1", "fix-3"]
    assert all(q.answerable for q in questions)
