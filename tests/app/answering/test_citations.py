from __future__ import annotations

from app.answering.citations import cited_numbers, resolve, strip_invalid_markers
from app.answering.support import best_span, claims
from tests.app.sample import PER_DIEM, REMOTE
from tests.app.sample import passage as passage_with


def test_markers_map_to_the_passages_in_order_of_first_mention() -> None:
    text, citations, _ = resolve(
        "Per diem is 45 EUR [2]. Remote: three days [1][2].", [REMOTE, PER_DIEM]
    )
    assert [c.number for c in citations] == [2, 1]
    assert citations[0].passage is PER_DIEM
    assert all(c.by_model for c in citations)
    assert text == "Per diem is 45 EUR [2]. Remote: three days [1][2]."


def test_markers_naming_no_passage_are_removed() -> None:
    assert strip_invalid_markers("Yes [3]. No [4]. Maybe [1, 7].", 2) == "Yes. No. Maybe [1]."


def test_a_zero_in_brackets_is_data_not_a_citation() -> None:
    assert strip_invalid_markers("The first item is at index [0].", 2) == (
        "The first item is at index [0]."
    )
    text, citations, _ = resolve("Something [9].", [REMOTE])
    assert "[9]" not in text
    assert all(c.number == 1 for c in citations)


def test_comma_lists_are_read() -> None:
    assert cited_numbers("a [1, 3] b [2] c [3]") == [1, 3, 2]


def test_uncited_sentence_is_attributed_to_the_passage_that_supports_it() -> None:
    text, citations, _ = resolve("The per-diem for domestic travel is 45 EUR.", [REMOTE, PER_DIEM])
    assert text == "The per-diem for domestic travel is 45 EUR [2]."
    assert [(c.number, c.by_model) for c in citations] == [(2, False)]


def test_unsupported_uncited_sentence_gets_no_citation() -> None:
    text, citations, _ = resolve(
        "Contractors get a company car and free lunch.", [REMOTE, PER_DIEM]
    )
    assert citations == []
    assert "[" not in text


def test_short_sentences_are_not_attributed_on_a_word_or_two() -> None:
    _, citations, _ = resolve("It is 45, yes.", [PER_DIEM])
    assert citations == []


def test_each_citation_carries_the_supporting_span_of_its_passage() -> None:
    passage = passage_with(
        "Badges are blue for visitors. Contractors wear green badges at all times. "
        "Lost badges cost 20 EUR."
    )
    _, citations, claims = resolve("Contractors wear green badges [1].", [passage])
    span = citations[0].span
    assert span is not None
    assert passage.text[span.start : span.end] == ("Contractors wear green badges at all times.")
    assert citations[0].supported and claims[0].supported


def test_a_wrong_number_is_an_unsupported_claim_even_with_matching_words() -> None:
    _, citations, claims = resolve(
        "The per-diem for domestic travel is 60 EUR [2].", [REMOTE, PER_DIEM]
    )
    assert [c.supported for c in claims] == [False]
    assert citations[0].supported is False


def test_citing_the_wrong_passage_is_corrected_and_marked_as_docents() -> None:
    text, citations, claims = resolve(
        "You may work remotely three days per week [2].", [REMOTE, PER_DIEM]
    )
    assert text == "You may work remotely three days per week [1]."
    assert claims[0].supported is True
    assert [(c.number, c.by_model) for c in citations] == [(1, False)]


def test_marker_after_the_full_stop_stays_with_its_sentence() -> None:
    _, _, claims = resolve("The per-diem for domestic travel is 45 EUR. [2]", [REMOTE, PER_DIEM])
    assert [(c.numbers, c.supported) for c in claims] == [((2,), True)]


def test_a_wrong_marker_is_pointed_at_the_passage_that_supports_the_sentence() -> None:
    text, citations, claims = resolve(
        "The per-diem for domestic travel is 45 EUR [1].", [REMOTE, PER_DIEM]
    )
    assert text == "The per-diem for domestic travel is 45 EUR [2]."
    assert [(c.number, c.by_model, c.supported) for c in citations] == [(2, False, True)]
    assert claims[0].supported


def test_a_marker_is_kept_when_no_passage_supports_the_sentence() -> None:
    text, citations, claims = resolve("The per-diem is 99 EUR [1].", [REMOTE, PER_DIEM])
    assert text == "The per-diem is 99 EUR [1]."
    assert citations[0].supported is False and claims[0].supported is False


def test_a_line_of_a_list_can_be_the_supporting_span() -> None:
    team = passage_with(
        "Leadership team\n\nMarguerite Ashdown, Chief Executive Officer\n"
        "Tobias Lindqvist, Chief Financial Officer\nRosa Eng, Chief People Officer"
    )
    _, citations, _ = resolve(
        "The Chief Financial Officer is Tobias Lindqvist [2].", [PER_DIEM, team]
    )
    span = citations[0].span
    assert citations[0].supported and span is not None
    assert team.text[span.start : span.end] == "Tobias Lindqvist, Chief Financial Officer"


def test_a_table_row_is_supported_together_with_its_heading() -> None:
    hotels = passage_with(
        "3. Hotels\n\nHotel costs are reimbursed up to a nightly cap, breakfast included.\n"
        "City | Cap per night\nLondon | €240\nParis | €210"
    )
    _, citations, claims = resolve("The hotel cap per night in London is €240 [1].", [hotels])
    assert claims[0].supported and citations[0].supported


def test_lines_that_state_nothing_are_not_claims() -> None:
    manual = passage_with("The per-diem for domestic travel is 45 EUR.", "Travel Manual", page=86)
    text = (
        "1. **Travel**: [2]\n"
        "The per-diem for domestic travel is 45 EUR [2].\n\n"
        "[2]\n\n"
        "Sources:\n"
        "[2] Travel Manual, p. 86\n\n"
        "More details are given in the section Section of the Travel Manual [2]."
    )
    final, citations, claims = resolve(text, [REMOTE, manual])
    assert final == text  # the markers stay where the model put them
    assert [(c.sentence, c.supported) for c in claims] == [
        ("The per-diem for domestic travel is 45 EUR.", True)
    ]
    assert [(c.number, c.supported) for c in citations] == [(2, True)]


def test_a_lead_in_announcing_a_list_is_not_a_claim_but_its_items_are() -> None:
    manual = passage_with("To claim the per-diem, fill in form T1. Attach the receipts.", "Manual")
    text = (
        "To claim the per-diem, follow these steps [1]:\n\n"
        "1. Fill in form T1 [1].\n"
        "2. Attach the receipts [1].\n\n"
        "The form to use is this one: [1]\n\n"
        "Use the `T2` form for hotels: [1]"
    )
    _, _, claims = resolve(text, [manual])
    assert [c.sentence for c in claims] == [
        "1. Fill in form T1.",
        "2. Attach the receipts.",
        "Use the `T2` form for hotels:",  # a lead-in that names something is still checked
    ]


def test_list_and_outline_numbers_are_not_numbers_a_claim_states() -> None:
    places = passage_with(
        "5.3 Where is the bundle?\n\nIt is searched for in the application's directory, then"
        " in all directories along %PATH%."
    )
    text = "It is searched for in this order:\n\n5. all directories along %PATH% [1]\n"
    _, _, claims = resolve(text, [places])
    assert [(c.sentence, c.supported) for c in claims] == [
        ("5. all directories along %PATH%", True)
    ]
    _, _, claims = resolve("Bash 5.3 fetches multiple files [1].", [places])
    assert not claims[0].supported  # "5.3" numbers the entry, it states no version


def test_a_sentence_with_words_beyond_the_sources_name_is_still_checked() -> None:
    manual = passage_with("The per-diem for domestic travel is 45 EUR.", "Travel Manual", page=86)
    _, _, claims = resolve("The Travel Manual covers hotels [1].", [manual])
    assert [(c.sentence, c.supported) for c in claims] == [
        ("The Travel Manual covers hotels.", False)
    ]


def test_a_name_set_as_code_that_the_passage_does_not_name_is_not_supported() -> None:
    soup = passage_with(
        "Making the soup. To parse a document, pass it into the BeautifulSoup constructor."
        " You can pass in a string or an open filehandle.",
        "Soup Manual",
    )
    text = (
        "To parse a page, pass it into the BeautifulSoup constructor with the `js` parameter [1]."
        " Pass a string or an open filehandle to the `BeautifulSoup` constructor [1]."
    )
    _, _, claims = resolve(text, [soup])
    assert [c.supported for c in claims] == [False, True]


def test_options_and_settings_in_code_are_checked_name_by_name() -> None:
    history = passage_with(
        "HISTCONTROL: set to ignoreboth, it keeps both kinds out of the history list.",
        "Shell Manual",
    )
    _, _, claims = resolve(
        "Set `HISTCONTROL=ignoreboth` to keep both out of the history [1].\n"
        "Set `HISTCONTROL=ignoreall` to keep both out of the history [1].\n"
        "Run `bash --histcontrol ignoreboth` to keep both out of the history [1].",
        [history],
    )
    assert [c.supported for c in claims] == [True, False, False]


REDIRECTS = (
    "3.8 How do I tell curl to follow HTTP redirects?\n\n"
    "curl does not follow so-called redirects by default. The Location: header that informs "
    "the client about this is only interpreted if you are using the -L/--location option.\n\n"
    "curl -L http://redirector.com"
)


def test_a_yes_the_passage_denies_is_not_confirmed_by_its_question_or_its_words() -> None:
    (claim,) = claims("Yes, curl follows HTTP redirects on its own [1].", [passage_with(REDIRECTS)])
    assert not claim.supported  # "does not follow"; the entry's title asks, it does not say


def test_the_way_a_passage_gives_after_its_not_by_default_is_confirmed() -> None:
    text = "curl follows HTTP redirects only with the -L/--location option [1]."
    (claim,) = claims(text, [passage_with(REDIRECTS)])
    assert claim.supported


def test_a_denial_reaches_past_the_small_words_after_it() -> None:
    faq = "libcurl is thread-safe. A handle must not at all be shared between two threads."
    text = "Yes, a handle can be shared between two threads [1]."
    (claim,) = claims(text, [passage_with(faq)])
    assert not claim.supported


def test_a_yes_its_cited_passage_denies_is_flagged_and_not_pointed_elsewhere() -> None:
    threads = passage_with(
        "5.1 Is libcurl thread-safe?\n\nYes. Note that you must never share the same handle "
        "in multiple threads."
    )
    callbacks = passage_with(
        "libcurl executes in the thread you call it in; you can use one handle for several "
        "transfers from one of your threads at the same time.",
        index=1,
    )
    model_text = "Yes, you can use one handle from several threads at the same time [1]."
    final, _, (claim,) = resolve(model_text, [threads, callbacks])
    assert final == model_text and not claim.supported


def test_a_stop_inside_a_url_or_a_dotted_name_ends_no_sentence_of_a_passage() -> None:
    text = (
        "Google pushes OAuth. You may need to turn on access for less secure apps at "
        "https://myaccount.google.com/lesssecureapps. Set http_proxy first, see sources.list(5)."
    )
    span, _ = best_span("Turn on access for less secure apps at the account page.", text)
    assert span is not None
    assert text[span.start : span.end] == (
        "You may need to turn on access for less secure apps at "
        "https://myaccount.google.com/lesssecureapps."
    )
    span, _ = best_span("Set the http_proxy variable, see sources.list(5).", text)
    assert span is not None and text[span.start : span.end].endswith("see sources.list(5).")
