"""`docent eval answers`: the judge's own checks, and a whole run through the real Answerer."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.evaluation.answers import (
    altered,
    evaluate_answers,
    fact_recall,
    leaked,
    prompt_ngrams,
    read_answer_set,
)
from app.evaluation.beir import DatasetError
from app.generation.prompting import Prompts
from app.services import Services
from ingest.pipeline import ingest_paths
from tests.fakes import FakeGenerator


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("Use random.random() here.", "Use random.random() here [1]."),
        ("See the manual. Then run it.", "See the manual [2]. Then run it [1]."),
        ("Yes [7].", "Yes."),
        ("Both [1, 2].", "Both [1][2]."),
    ],
)
def test_markers_added_or_removed_where_they_belong_are_no_alteration(raw: str, shown: str) -> None:
    assert not altered(raw, shown)


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("Use random.random() here.", "Use random [1].random() here."),  # inside a name
        ("Open https://git.example.org now.", "Open https://git [1].example.org now."),
        ("Call tuple([1, 2, 3]) now.", "Call tuple([1][2]) now."),  # data made markers
        ("Run `ls [1]` now.", "Run `ls` now."),  # a bracket in code removed
        ("It costs 45 EUR.", "It costs 54 EUR [1]."),  # a word changed
    ],
)
def test_any_other_change_is_an_alteration(raw: str, shown: str) -> None:
    assert altered(raw, shown)


def test_key_facts_match_whole_words_and_options_by_case() -> None:
    assert fact_recall([["-C", "--continue-at"]], "use `curl -C - URL`") == 1.0
    assert fact_recall([["-C"]], "use --continue") == 0.0  # not inside another option
    assert fact_recall([["-c"]], "use -C") == 0.0  # -c and -C are different options
    assert fact_recall([["Ctrl+X"], ["127"]], "press ctrl+x, exit code 1270") == 0.5


def test_an_answer_repeating_prompt_text_is_a_leak() -> None:
    grams = prompt_ngrams(Prompts())
    assert leaked("Copy commands, options, file names, URLs and numbers exactly.", grams)
    assert not leaked("The per-diem for domestic travel is 45 EUR [1].", grams)


def test_a_bad_answer_set_line_is_named(tmp_path: Path) -> None:
    path = tmp_path / "set.jsonl"
    path.write_text('{"question": "ok?", "answer": "yes"}\n{"answer": "no question"}\n')
    with pytest.raises(DatasetError, match=r"set.jsonl:2"):
        read_answer_set(path)


@pytest.mark.parametrize("doubt", [None, 0.4])
def test_a_run_judges_every_answer_and_writes_the_review(
    services: Services, generator: FakeGenerator, tmp_path: Path, doubt: float | None
) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "remote.md").write_text(
        "# Remote work\n\nEmployees may work remotely up to three days per week.\n"
    )
    ingest_paths(
        [docs],
        embedder=services.embedder,
        store=services.store,
        catalog=services.catalog,
        options=services.ingest_options,
    )
    answer_set = tmp_path / "set.jsonl"
    lines = [
        {
            "id": "a1",
            "question": "How many days per week can I work remotely?",
            "answer": "Three days per week.",
            "key_facts": [["three", "3"]],
            "document": "remote.md",
            "source": "handbook",
        },
        {"id": "o1", "question": "What is the canteen menu?", "answerable": False},
    ]
    answer_set.write_text("\n".join(json.dumps(line) for line in lines))
    generator.enqueue(
        "You may work remotely up to three days per week [1].", "The menu is pasta [1]."
    )
    generator.doubt = doubt  # 0.4: the fake leans to "not found" each time, and is overruled
    review = tmp_path / "review.jsonl"

    summaries = evaluate_answers(read_answer_set(answer_set), services.answerer, Prompts(), review)

    overall = summaries[0].row()
    assert overall["answerable"] == 1 and overall["complete"] == 1.0
    assert overall["right_document_cited"] == 1.0
    # the fake model answered it: counted; unless written against its lean to decline, when
    # its unsupported "pasta" is withheld
    assert overall["out_of_scope_answered"] == (1.0 if doubt is None else 0.0)
    assert overall["altered"] == 0 and overall["prompt_leaks"] == 0
    assert overall["not_found_overruled"] == (0 if doubt is None else 2)
    records = [json.loads(line) for line in review.read_text().splitlines()]
    assert [r["item"]["id"] for r in records] == ["a1", "o1"]
    assert records[0]["model_text"] == "You may work remotely up to three days per week [1]."
    assert records[0]["not_found_probability"] == (None if doubt is None else pytest.approx(0.4))
    assert records[0]["not_found_overruled"] is (doubt is not None)
    assert records[0]["passages"][0]["text"].startswith("Remote work")
