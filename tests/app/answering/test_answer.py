from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from app.answering.answer import Answerer, AnswerOptions, Done, Retrieved, Token
from app.generation.generator import ChatMessage, FairQueue
from app.generation.opening import Opening
from app.generation.prompting import NOT_FOUND, Prompts
from app.services import Services
from ingest.pipeline import ingest_paths
from ingest.types import Passage
from tests.app.sample import passage
from tests.fakes import FakeEmbedder, FakeGenerator


def _ingest(services: Services, tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "remote.md").write_text(
        "# Remote work\n\nEmployees may work remotely up to three days per week.\n"
    )
    (docs / "travel.md").write_text("# Travel\n\nThe per-diem for domestic travel is 45 EUR.\n")
    ingest_paths(
        [docs],
        embedder=services.embedder,
        store=services.store,
        catalog=services.catalog,
        options=services.ingest_options,
    )


def test_answer_streams_tokens_then_one_answer_with_citations(
    services: Services, generator: FakeGenerator, tmp_path: Path
) -> None:
    _ingest(services, tmp_path)
    generator.enqueue("You may work remotely three days per week [1].")
    events = list(services.answerer.stream("How many days per week can I work remotely?"))

    assert isinstance(events[0], Retrieved) and events[0].passages
    tokens = [e.text for e in events if isinstance(e, Token)]
    assert "".join(tokens) == "You may work remotely three days per week [1]."
    done = events[-1]
    assert isinstance(done, Done)
    answer = done.answer
    assert answer.found
    assert answer.citations[0].passage.title == "Remote work"
    assert answer.model == "fake-model"
    assert answer.prompt_version == Prompts().version
    assert answer.timings.completion_tokens == len(answer.text.split())


def test_prompt_shows_the_retrieved_passages(
    services: Services, generator: FakeGenerator, tmp_path: Path
) -> None:
    _ingest(services, tmp_path)
    services.answerer.answer("What is the per-diem for domestic travel?")
    system, user = generator.calls[0]
    assert system.role == "system" and user.role == "user"
    assert "The per-diem for domestic travel is 45 EUR." in user.content
    assert user.content.index("45 EUR") < user.content.index("Question:")


def test_empty_knowledge_base_says_not_found_without_calling_the_model(
    services: Services, generator: FakeGenerator
) -> None:
    answer = services.answerer.answer("Anything?")
    assert answer.text == NOT_FOUND
    assert not answer.found
    assert generator.calls == []


def test_passages_that_do_not_fit_the_context_are_dropped_and_reported(
    services: Services, tmp_path: Path
) -> None:
    _ingest(services, tmp_path)
    question, prompts = "remote work days per week", Prompts()
    roomy = Answerer(
        services.embedder, services.store, FakeGenerator(), prompts, AnswerOptions(top_k=2)
    )
    first, _ = roomy.answer(question).passages
    one_passage = sum(len(m.content.split()) for m in prompts.messages(question, [first]))
    options = AnswerOptions(top_k=2, max_answer_tokens=50)
    small = FakeGenerator(context_length=one_passage + 16 + options.max_answer_tokens)
    answerer = Answerer(services.embedder, services.store, small, prompts, options)
    answer = answerer.answer(question)
    assert len(answer.passages) + len(answer.dropped) == 2
    assert answer.dropped, "the second passage should not fit"
    prompt = small.calls[0]
    used = sum(small.count_tokens(m.content) for m in prompt)
    assert used <= small.context_length - options.max_answer_tokens


class CountedPrompts(Prompts):
    """The real prompt files; each rendering recorded with its number of passages."""

    def __init__(self) -> None:
        super().__init__()
        self.rendered: list[int] = []

    def messages(self, question: str, passages: Sequence[Passage]) -> list[ChatMessage]:
        self.rendered.append(len(passages))
        return super().messages(question, passages)


def test_fitting_the_context_renders_the_prompt_a_few_times_not_once_per_passage(
    services: Services,
) -> None:
    prompts = CountedPrompts()
    found = [
        passage(f"Paragraph {i} about remote work, " + "word " * 60, index=i) for i in range(16)
    ]
    two = sum(len(m.content.split()) for m in prompts.messages("remote work?", found[:2]))
    options = AnswerOptions(max_answer_tokens=50)
    small = FakeGenerator(context_length=two + 16 + options.max_answer_tokens)
    answerer = Answerer(services.embedder, services.store, small, prompts, options)
    prompts.rendered.clear()
    kept, dropped = answerer.fit("remote work?", found)
    assert (kept, dropped) == (found[:2], found[2:])
    assert len(prompts.rendered) <= 6, prompts.rendered  # bisected: 1 + log2(16) + 1


def test_embedder_sees_the_question(services: Services, embedder: FakeEmbedder) -> None:
    services.answerer.answer("Where is the office?")
    assert embedder.embedded_texts[-1] == "Where is the office?"


def test_weak_evidence_is_refused_without_asking_the_model(
    services: Services, generator: FakeGenerator, tmp_path: Path
) -> None:
    _ingest(services, tmp_path)
    strict = replace(
        services.answerer, options=replace(services.answerer.options, min_evidence=0.9)
    )
    answer = strict.answer("Which airline do we have a corporate deal with?")
    assert answer.refused and not answer.found
    assert answer.text == NOT_FOUND
    assert answer.passages  # the closest passages are listed for the user
    assert answer.evidence is not None and answer.evidence < 0.9
    assert generator.calls == []


def test_the_evidence_comes_from_the_stored_vectors(
    services: Services, embedder: FakeEmbedder, tmp_path: Path
) -> None:
    """Retrieved passages are not embedded again to measure the evidence: the store's
    vectors were compared with the question in the search itself."""
    _ingest(services, tmp_path)
    embedder.batches.clear()
    answer = services.answerer.answer("Which airline do we have a corporate deal with?")
    assert answer.passages and answer.evidence is not None
    assert embedder.embedded_texts == ["Which airline do we have a corporate deal with?"]


def test_strong_evidence_is_answered(
    services: Services, generator: FakeGenerator, tmp_path: Path
) -> None:
    _ingest(services, tmp_path)
    strict = replace(
        services.answerer, options=replace(services.answerer.options, min_evidence=0.5)
    )
    generator.enqueue("The per-diem is 45 EUR [1].")
    answer = strict.answer("The per-diem for domestic travel is 45 EUR?")
    assert not answer.refused and answer.found
    assert answer.evidence is not None and answer.evidence >= 0.5
    assert len(generator.calls) == 1


def test_the_user_message_names_each_quoted_passage_in_order(
    services: Services, generator: FakeGenerator, tmp_path: Path
) -> None:
    """What a generator may reuse cells for: each passage's text exactly as quoted."""
    _ingest(services, tmp_path)
    services.answerer.answer("What is the per-diem for domestic travel?")
    _, user = generator.calls[0]
    assert user.quoted and all(block in user.content for block in user.quoted)
    assert "> Travel\n> \n> The per-diem for domestic travel is 45 EUR.\n" in user.quoted
    where = [user.content.index(block) for block in user.quoted]
    assert where == sorted(where)


@dataclass
class WarmingGenerator(FakeGenerator):
    """A fake that, like llama.cpp in-process, can read a prompt's opening ahead of time."""

    warmed: list[list[ChatMessage]] = field(default_factory=list)
    queue_length_then: list[int] = field(default_factory=list)

    def warm(self, messages: Sequence[ChatMessage]) -> None:
        self.warmed.append(list(messages))
        self.queue_length_then.append(len(self.queue) if self.queue else 0)


def test_warm_reads_the_answer_prompt_s_opening_in_its_own_turn(services: Services) -> None:
    warming = WarmingGenerator(queue=FairQueue())
    answerer = replace(services.answerer, generator=warming)
    assert answerer.warm()
    [(system, user)] = warming.warmed
    assert system.content == answerer.prompts.system() and user.role == "user"
    assert warming.queue_length_then == [1]  # it held the turn while warming
    assert warming.queue is not None and len(warming.queue) == 0  # and left

    assert not services.answerer.warm()  # a generator with nothing to warm (a model server)


def test_the_model_may_open_with_not_found_only_past_the_configured_floor(
    services: Services, tmp_path: Path
) -> None:
    _ingest(services, tmp_path)
    generator = FakeGenerator(replies=["Up to three days per week [1]."])
    options = AnswerOptions(top_k=2, not_found_floor=0.4)
    answerer = Answerer(services.embedder, services.store, generator, Prompts(), options)
    answer = answerer.answer("How many days a week can I work from home?")
    assert generator.openings == [Opening(NOT_FOUND, 0.4)]
    assert answer.not_found_probability is None  # a fake model has no odds to report
