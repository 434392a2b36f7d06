"""An answer opening with "Yes" that its cited passage denies is asked for again, "Yes" ruled
out; the second answer replaces the first everywhere it is shown."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from app.answering.answer import Answerer, AnswerOptions, Done, Token
from app.answering.api_view import answer_dict
from app.answering.grounding import GroundingOptions
from app.answering.yes_denied import YES, denied_yes
from app.conversations.stored_answer import from_json, to_json
from app.evaluation.answers import ask
from app.generation.opening import Opening
from app.services import Services
from tests.app.sample import ingest_text, passage
from tests.fakes import FakeGenerator

QUESTION = "Can I work remotely from abroad?"
DENIED = "Yes, you can work remotely from abroad [1]."
SECOND = "No, employees may not work remotely from abroad [1]."
PAGE = (
    "# Remote work\n\nEmployees may work remotely up to three days per week. Employees may "
    "not work remotely from abroad.\n"
)


def _answerer(services: Services, tmp_path: Path) -> Answerer:
    ingest_text(services, tmp_path / "remote.md", PAGE)
    return replace(services.answerer, options=AnswerOptions(top_k=3, grounding=GroundingOptions()))


def test_a_yes_its_passage_denies_is_asked_for_again_without_yes(
    services: Services, generator: FakeGenerator, tmp_path: Path
) -> None:
    answerer = _answerer(services, tmp_path)
    generator.doubt = 0.1  # an in-process model that weighs the opening
    generator.enqueue(DENIED, SECOND)

    events = list(answerer.stream(QUESTION))

    streamed = "".join(e.text for e in events if isinstance(e, Token))
    answer = next(e.answer for e in events if isinstance(e, Done))
    assert streamed == DENIED  # the first answer streamed; the second arrives with Done
    assert answer.reasked and answer.first_text == DENIED
    assert answer.text == SECOND and answer.model_text == SECOND
    assert answer.found and [c.number for c in answer.citations] == [1]
    assert generator.openings[-1] == Opening(YES, 1.0)
    assert len(generator.calls) == 2 and generator.calls[0] == generator.calls[1]
    assert answer.timings.completion_tokens == len(SECOND.split())
    shown = answer_dict(answer)
    assert shown["reasked"] is True and shown["first_answer"] == DENIED
    kept = from_json(to_json(answer))
    assert kept.reasked and kept.first_text == DENIED


def test_the_evaluation_checks_the_second_answer_against_the_models_second_text(
    services: Services, generator: FakeGenerator, tmp_path: Path
) -> None:
    answerer = _answerer(services, tmp_path)
    generator.doubt = 0.1
    generator.enqueue(DENIED, SECOND)

    answer, written = ask(answerer, QUESTION)

    assert written == SECOND
    assert answer.reasked


def test_a_confirmed_yes_and_a_model_server_are_not_asked_again(
    services: Services, generator: FakeGenerator, tmp_path: Path
) -> None:
    answerer = _answerer(services, tmp_path)
    generator.doubt = 0.1
    confirmed = "Yes, employees may work remotely up to three days per week [1]."
    generator.enqueue(confirmed)
    kept = answerer.answer("Can I work remotely some days?")
    generator.doubt = None  # a model server: no opening can be ruled out, so no second try
    generator.enqueue(DENIED)
    served = answerer.answer(QUESTION)

    assert not kept.reasked and kept.text == confirmed
    assert not served.reasked and served.model_text == DENIED
    assert len(generator.calls) == 2


def test_only_an_answer_opening_with_a_denied_yes_counts() -> None:
    shown = [passage("Employees may not work remotely from abroad.")]
    from app.answering.support import claims

    def denied(text: str) -> bool:
        return denied_yes(text, claims(text, shown), shown)

    assert denied("Yes, you can work remotely from abroad [1].")
    assert denied("**Yes**, you can work remotely from abroad [1].")
    assert not denied("You can work remotely from abroad [1].")  # no "Yes" to rule out
    assert not denied("[1] Yes, you can work remotely from abroad.")  # opens with a marker
    assert not denied("No, you cannot work remotely from abroad [1].")
