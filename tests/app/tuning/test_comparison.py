"""`docent tune eval`'s comparison: the same questions through the model alone and with the
adapter, each side's figures, and which figures got better or worse."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from app.evaluation.answers import AnswerItem
from app.generation.prompting import NOT_FOUND
from app.services import Services
from app.tuning.comparison import Side, compare, write_comparison
from tests.app.sample import ingest_remote_work
from tests.fakes import FakeGenerator

ITEMS = [
    AnswerItem(
        "kb-1",
        "How many days per week may employees work remotely?",
        True,
        key_facts=(("three days",),),
        document="remote.md",
    ),
    AnswerItem("oos-1", "What is the parking fee at the Oslo office?", False),
]


def test_both_sides_answer_every_set_and_the_better_side_shows(
    services: Services, tmp_path: Path
) -> None:
    ingest_remote_work(services, tmp_path)
    alone, tuned = FakeGenerator(), FakeGenerator(adapter="team.gguf")
    alone.enqueue(NOT_FOUND, "The fee is 20 EUR a day [1].")  # declines, then makes one up
    tuned.enqueue("Employees may work remotely up to three days per week [1].", NOT_FOUND)
    sides = [
        Side("base", replace(services.answerer, generator=alone)),
        Side("team.gguf", replace(services.answerer, generator=tuned)),
    ]
    seen: list[tuple[str, str]] = []
    (held_out,) = compare(
        {"held-out": ITEMS},
        sides,
        tmp_path / "eval",
        lambda label, item, verdict: seen.append((label, item.id)),
    )
    assert seen == [
        ("base", "kb-1"),
        ("base", "oos-1"),
        ("team.gguf", "kb-1"),
        ("team.gguf", "oos-1"),
    ]
    base, adapter = held_out.rows["base"], held_out.rows["team.gguf"]
    assert (base["complete"], adapter["complete"]) == (0.0, 1.0)
    assert adapter["right_document_cited"] == 1.0
    assert "complete" in held_out.better("team.gguf")
    assert held_out.worse("team.gguf") == []
    assert (tmp_path / "eval" / "held-out.team-gguf.jsonl").is_file()  # every answer, to read
    saved = write_comparison(tmp_path / "team.eval.json", [held_out])
    assert json.loads(saved.read_text())[0]["rows"]["team.gguf"]["complete"] == 1.0
