"""Training examples from the knowledge base: generated questions, answers kept only when the
claims check supports them, the answering chunk among distractors, out-of-scope twins."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from app.generation.prompting import NOT_FOUND, Prompts
from app.services import Services
from app.tuning.knowledge import KnowledgeOptions, knowledge_examples, sample_chunks
from app.tuning.questions import usable_question
from tests.app.sample import ingest_text
from tests.app.tuning.reading import ReadingGenerator

REMOTE = "Employees may work remotely up to three days per week after their probation ends."
TRAVEL = "The per diem for domestic travel is forty five euros, paid with the next salary."
LEAVE = "Everyone gets twenty eight days of annual leave, and unused days expire in March."
OPTIONS = KnowledgeOptions(chunks=10, passages=3, out_of_scope=1.0, min_words=5)


@pytest.fixture
def generator() -> ReadingGenerator:
    return ReadingGenerator()


def _ingest(services: Services, folder: Path, **docs: str) -> None:
    for name, text in docs.items():
        ingest_text(services, folder / f"{name}.md", f"# {name.title()}\n\n{text}\n")


def _chunks(services: Services, count: int = 10, seed: int = 0) -> list:  # type: ignore[type-arg]
    rng = random.Random(seed)
    return sample_chunks(services.catalog.all(), services.store, count, rng, min_words=5)


def test_each_chunk_gives_a_cited_answer_among_distractors_and_a_not_found_twin(
    services: Services, tmp_path: Path
) -> None:
    _ingest(services, tmp_path, remote=REMOTE, travel=TRAVEL, leave=LEAVE)
    chunks = _chunks(services)
    assert len(chunks) == 3
    outcomes = list(knowledge_examples(services.answerer, chunks, OPTIONS))
    system = Prompts().system()
    for outcome in outcomes:
        assert not outcome.skipped, outcome
        answer, twin = outcome.examples
        assert (answer.origin, twin.origin) == ("knowledge", "out_of_scope")
        assert answer.messages[0].content == system  # docent's own prompt
        user = answer.messages[1].content
        assert user.count("<source id=") == 3  # the chunk and two distractors
        number = int(answer.target.rsplit("[", 1)[1].rstrip("]"))
        cited = user.split(f'<source id="{number}"')[1].split("</source>")[0]
        assert outcome.chunk.text.split()[0] in cited  # the marker names the chunk
        assert answer.document == outcome.chunk.source and answer.answerable
        assert twin.target == NOT_FOUND and not twin.answerable
        assert outcome.chunk.text not in twin.messages[1].content  # shown without it
        assert twin.question == answer.question and twin.split == answer.split


def test_the_chunk_takes_random_positions_the_same_for_the_same_seed(
    services: Services, tmp_path: Path
) -> None:
    more = {
        f"topic{i}": f"Topic {i} policy: rule number {i} applies to team {i} members " * 2
        for i in range(8)
    }
    _ingest(services, tmp_path, **more)
    chunks = _chunks(services)

    def positions(seed: int) -> list[int]:
        options = KnowledgeOptions(chunks=10, passages=3, out_of_scope=0.0, min_words=5, seed=seed)
        found = []
        for outcome in knowledge_examples(services.answerer, chunks, options):
            user = outcome.examples[0].messages[1].content
            sources = user.split("<source id=")[1:]
            line = outcome.chunk.text.splitlines()[-1][:30]
            found.append(next(i for i, s in enumerate(sources, 1) if line in s))
        return found

    first = positions(0)
    assert first == positions(0)
    assert len(set(first)) > 1  # not always first (RAFT: the answer can be anywhere)


def test_questions_and_answers_that_fail_the_checks_are_skipped_with_the_reason(
    services: Services, tmp_path: Path
) -> None:
    _ingest(services, tmp_path, remote=REMOTE)
    chunks = _chunks(services)
    services.answerer.generator.questions = [  # type: ignore[attr-defined]
        "Tell me about remote work.",  # no question mark: no question
    ]
    (no_question,) = knowledge_examples(services.answerer, chunks, OPTIONS)
    assert (no_question.skipped, no_question.question, no_question.examples) == (
        "no question",
        None,
        (),
    )
    services.answerer.generator.questions = ["Is the probation for remotely working staff paid?"]  # type: ignore[attr-defined]
    (unanswered,) = knowledge_examples(services.answerer, chunks, OPTIONS)
    assert unanswered.skipped == "not found" and unanswered.examples == ()


def test_no_not_found_twin_when_another_document_answers_the_question_too(
    services: Services, tmp_path: Path
) -> None:
    wiki = "In the wiki: three days a week remotely, when the probation ends."
    _ingest(services, tmp_path, remote=REMOTE, wiki=wiki)
    chunks = [c for c in _chunks(services) if c.source.endswith("remote.md")]
    services.answerer.generator.questions = [  # type: ignore[attr-defined]
        "How many days per week may employees work remotely after their probation?"
    ]
    (outcome,) = knowledge_examples(services.answerer, chunks, OPTIONS)
    assert [e.origin for e in outcome.examples] == ["knowledge"]  # the wiki answers it too


def test_sampling_skips_short_chunks_and_failed_documents(
    services: Services, tmp_path: Path
) -> None:
    _ingest(services, tmp_path, remote=REMOTE, stub="Draft.")
    sampled = _chunks(services)
    assert [c.source.rsplit("/", 1)[-1] for c in sampled] == ["remote.md"]
    assert _chunks(services, count=0) == []


@pytest.mark.parametrize(
    ("reply", "question"),
    [
        (
            "Question: How many days may employees work remotely?",
            "How many days may employees work remotely?",
        ),
        (
            "Sure!\n**How many days per week can staff work remotely?**",
            "How many days per week can staff work remotely?",
        ),
        ("What is the answer to this question?", None),  # names nothing of the passage
        ("Employees may work remotely.", None),  # not a question
        ("Remote days?", None),  # too short to stand alone
    ],
)
def test_a_usable_question_asks_about_the_passage(reply: str, question: str | None) -> None:
    assert usable_question(reply, REMOTE) == question
