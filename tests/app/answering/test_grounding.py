"""Grounded or declined: the subject check before generation, the answer checks after it, and
acronyms spelled out from the documents' own definitions."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from app.answering.acronyms import expanded
from app.answering.answer import Answerer, AnswerOptions, Done, Token
from app.answering.api_view import answer_dict
from app.answering.grounding import GroundingOptions, subject, subject_terms, unknown_options
from app.answering.unknown_names import looks_like_a_name
from app.generation.prompting import NOT_FOUND
from app.services import Services
from ingest.pipeline import ingest_paths
from tests.app.sample import passage
from tests.fakes import FakeGenerator

STRICT = GroundingOptions(
    min_subject_coverage=0.5, min_cited_coverage=0.5, min_supported=0.5, require_citation=True
)


def _ingest(services: Services, tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "remote.md").write_text(
        "# Remote work\n\nEmployees may work remotely up to three days per week.\n"
    )
    (docs / "roles.md").write_text(
        "# Approvals\n\nPurchases over 5,000 EUR are approved by the Chief Financial Officer "
        "(CFO).\n\n# Leadership\n\nMaria Chen is our Chief Financial Officer.\n"
    )
    ingest_paths(
        [docs],
        embedder=services.embedder,
        store=services.store,
        catalog=services.catalog,
        options=services.ingest_options,
    )


def _strict(services: Services, grounding: GroundingOptions = STRICT) -> Answerer:
    return replace(services.answerer, options=AnswerOptions(top_k=3, grounding=grounding))


def test_subject_terms_leave_out_the_words_of_asking() -> None:
    assert subject_terms("How many days a week can I work from home?") == ("day", "week", "home")
    assert subject_terms("Does the Acme Widget support Firefox?") == (
        "acm",
        "widget",
        "support",
        "firefox",
    )


def test_an_acronym_counts_as_named_where_it_is_spelled_out() -> None:
    found = subject("Who is the CFO?", [passage("Maria Chen, Chief Financial Officer.")])
    assert found.coverage == 1.0
    assert subject("Who is the CFO?", [passage("Maria Chen runs finance.")]).coverage == 0.0


def test_a_question_about_something_no_passage_names_is_declined_without_the_model(
    services: Services, generator: FakeGenerator, tmp_path: Path
) -> None:
    _ingest(services, tmp_path)
    answerer = _strict(services)

    answer = answerer.answer("Does the Acme Widget support Firefox and Safari?")

    assert generator.calls == []  # no ten seconds spent generating
    assert answer.text == NOT_FOUND and answer.refused and not answer.found
    assert answer.declined == "off_subject"
    assert answer.passages  # the closest documents are listed
    data = answer_dict(answer)
    assert data["declined"] == "off_subject" and data["declined_because"]
    assert "widget" in data["grounding"]["missing_terms"]


def test_an_uncited_answer_is_withheld_after_streaming(
    services: Services, generator: FakeGenerator, tmp_path: Path
) -> None:
    _ingest(services, tmp_path)
    generator.enqueue("Yes, everyone gets a company car.")  # nothing in the passages says so
    events = list(_strict(services).stream("How many days per week can I work remotely?"))

    streamed = "".join(e.text for e in events if isinstance(e, Token))
    assert streamed == "Yes, everyone gets a company car."  # what the reader saw arrive
    answer = events[-1].answer if isinstance(events[-1], Done) else None
    assert answer is not None
    assert answer.text == NOT_FOUND and answer.declined == "uncited"
    assert answer.model_text == streamed and answer.citations == []
    assert answer_dict(answer)["withheld_answer"] == streamed


def test_an_answer_citing_only_a_pointer_to_its_source_is_withheld(
    services: Services, generator: FakeGenerator, tmp_path: Path
) -> None:
    _ingest(services, tmp_path)
    answerer = _strict(services, GroundingOptions(require_citation=True))  # this rule alone
    question = "How many days per week can I work remotely?"
    generator.enqueue(
        "Everyone gets a company car. This is described in the source [1].",
        "Use the form [1]:\n\n```\nremote --days 3\n```",
        "See the source [1].",
    )

    pointer = answerer.answer(question)
    lead_in = answerer.answer(question)
    nothing_else = answerer.answer(question)

    assert pointer.declined == "uncited" and pointer.text == NOT_FOUND
    assert not lead_in.declined  # the lead-in's marker cites the code under it
    assert not nothing_else.declined  # states nothing uncited either


def test_a_grounded_answer_is_shown_as_written(
    services: Services, generator: FakeGenerator, tmp_path: Path
) -> None:
    _ingest(services, tmp_path)
    generator.enqueue("You may work remotely up to three days per week [1].")

    answer = _strict(services).answer("How many days per week can I work remotely?")

    assert answer.found and not answer.declined
    assert answer.text == "You may work remotely up to three days per week [1]."
    assert answer.grounding is not None and answer.grounding.supported == 1.0


def test_an_answer_citing_passages_that_do_not_say_it_is_withheld(
    services: Services, generator: FakeGenerator, tmp_path: Path
) -> None:
    _ingest(services, tmp_path)
    generator.enqueue("Remote work needs a signed laptop agreement and a VPN token [1].")

    answer = _strict(services).answer("How many days per week can I work remotely?")

    assert answer.declined == "unsupported" and answer.text == NOT_FOUND


def test_with_the_checks_off_the_same_answer_is_shown(
    services: Services, generator: FakeGenerator, tmp_path: Path
) -> None:
    _ingest(services, tmp_path)
    generator.enqueue("Yes, everyone gets a company car.")

    answer = _strict(services, GroundingOptions()).answer("How many days can I work remotely?")

    assert answer.found and answer.text == "Yes, everyone gets a company car."


def test_an_acronym_is_searched_again_spelled_out(
    services: Services, generator: FakeGenerator, tmp_path: Path
) -> None:
    _ingest(services, tmp_path)
    generator.enqueue("Maria Chen is the CFO [1].")

    answer = services.answerer.answer("Who is the CFO?")

    assert answer.search_query == "Who is the CFO? (Chief Financial Officer)"
    _, user = generator.calls[0]
    assert "Who is the CFO? (Chief Financial Officer)" in user.content
    assert expanded("Who is the CFO?", [passage("No definition here.")]) is None


NAMES = replace(STRICT, rare_name_below=3.5)


def test_a_question_naming_something_no_document_uses_is_declined_naming_it(
    services: Services, generator: FakeGenerator, tmp_path: Path
) -> None:
    _ingest(services, tmp_path)
    question = "How many days per week can I work remotely with Zoomify?"
    assert subject(question, [passage("Work remotely up to three days per week.")]).coverage > 0.5

    answer = _strict(services, NAMES).answer(question)

    assert generator.calls == []
    assert answer.declined == "unknown_name" and answer.text == NOT_FOUND
    assert answer_dict(answer)["grounding"]["unknown_names"] == ["zoomify"]


def test_an_everyday_word_the_documents_do_not_use_is_not_taken_for_a_name(
    services: Services, generator: FakeGenerator, tmp_path: Path
) -> None:
    _ingest(services, tmp_path)
    generator.enqueue("You may work remotely up to three days per week [1].")

    answer = _strict(services, NAMES).answer("How many days per week can I work from my garden?")

    assert answer.found and not answer.declined
    assert answer.grounding is not None and answer.grounding.subject.unknown == ()


def test_a_name_the_documents_use_is_not_unknown_although_the_passages_miss_it(
    services: Services, generator: FakeGenerator, tmp_path: Path
) -> None:
    _ingest(services, tmp_path)  # "Maria Chen" is in roles.md, not in the remote-work passage
    generator.enqueue("You may work remotely up to three days per week [1].")
    names = replace(NAMES, rare_name_below=4.5, min_subject_coverage=0)
    assert looks_like_a_name("chen", names.rare_name_below)
    answerer = replace(services.answerer, options=AnswerOptions(top_k=1, grounding=names))

    answer = answerer.answer("How many days per week may Chen work remotely?")

    assert answer.grounding is not None and "chen" in answer.grounding.subject.missing
    assert answer.declined != "unknown_name" and answer.grounding.subject.unknown == ()


def test_names_are_rare_words_or_words_with_digits_in_any_inflection() -> None:
    assert looks_like_a_name("aria2c", 3.5) and looks_like_a_name("7.0", 3.5)
    assert looks_like_a_name("handbrake", 3.5) and looks_like_a_name("tmux", 3.5)
    assert not looks_like_a_name("photo", 3.5) and not looks_like_a_name("colouring", 3.5)
    assert not looks_like_a_name("scratch", 3.5)
    # an everyday word behind an everyday prefix is vocabulary; a product's name is not
    assert not looks_like_a_name("misbehave", 3.5) and not looks_like_a_name("misbehaving", 3.5)
    assert looks_like_a_name("unattended-upgrades", 3.5) and looks_like_a_name("rsync", 3.5)


def test_an_answer_naming_an_option_no_passage_mentions_is_withheld_naming_it(
    services: Services, generator: FakeGenerator, tmp_path: Path
) -> None:
    _ingest(services, tmp_path)
    options = GroundingOptions(require_citation=True, unknown_options=True)
    generator.enqueue(
        "You may work remotely up to three days per week [1]. Book them with `--remote-days`."
    )
    answer = _strict(services, options).answer("How many days per week can I work remotely?")
    assert answer.declined == "unknown_option" and answer.text == NOT_FOUND
    assert answer.grounding is not None
    assert answer_dict(answer)["grounding"]["unknown_options"] == ["--remote-days"]


def test_options_in_code_blocks_and_options_the_passages_hold_pass() -> None:
    shown = [passage("Resume with -C, follow redirects with --location, read --config.")]
    text = (
        "Use `-C -` to resume [1], and `--location` for redirects [1].\n\n"
        "```\ncurl -C - --output file.iso https://example.org/file.iso\n```"
    )
    assert unknown_options(text, shown) == ()
    assert unknown_options("Use `wget -c` to resume [1].", shown) == ("-c",)


def test_a_setting_no_passage_names_after_a_documented_command_is_unknown() -> None:
    shown = [passage("Use set tabsize 8 in your nanorc; set autoindent indents new lines.")]

    assert unknown_options("Add `set fontsize 14` to your nanorc [1].", shown) == ("fontsize",)
    assert unknown_options("Add `set tabsize 4` to your nanorc [1].", shown) == ()
    # an everyday word after the command is not judged: only names are
    assert unknown_options("Then `set autoindent off` [1].", shown) == ()
    # a command the passages never name is not judged (`sudo`, `pip` are the model's own)
    assert unknown_options("Run `pip install frob` first [1].", shown) == ()
    # a placeholder in a longer span or a code block is not a setting
    assert unknown_options("Run `set tabsize 4 for myfile.txt` [1].", shown) == ()
    assert unknown_options("Like this [1]:\n\n```\nset fontsize 14\n```", shown) == ()


def test_an_outline_number_does_not_name_a_version() -> None:
    entry = passage("5.3 How do I fetch multiple files with libcurl?\n\nCall it once per file.")
    release = passage("Bash 5.3 added new features to the shell.")

    assert "5.3" not in subject("What does bash 5.3 add?", [entry]).found
    assert "5.3" in subject("What does bash 5.3 add?", [release]).found


def test_an_answer_written_against_the_models_lean_to_decline_needs_support(
    services: Services, generator: FakeGenerator, tmp_path: Path
) -> None:
    _ingest(services, tmp_path)
    answerer = _strict(services, GroundingOptions())  # no other check: this one alone
    question = "How many days per week can I work remotely?"
    generator.doubt = 0.33  # its likeliest first token, yet a third of the odds: overruled

    generator.enqueue("Remote work needs a signed laptop agreement and a VPN token [1].")
    doubted = answerer.answer(question)
    generator.enqueue("You may work remotely up to three days per week [1].")
    confirmed = answerer.answer(question)
    generator.doubt = 0.6  # the model means it
    generator.enqueue("You may work remotely up to three days per week [1].")
    meant = answerer.answer(question)

    assert doubted.declined == "doubted" and doubted.text == NOT_FOUND
    assert doubted.not_found_ruled_out
    assert doubted.not_found_probability == pytest.approx(0.33)
    assert confirmed.found and not confirmed.declined
    assert confirmed.text == "You may work remotely up to three days per week [1]."
    assert not meant.found and not meant.not_found_ruled_out and not meant.declined
