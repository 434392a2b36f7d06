"""docent changes citation markers only: never the model's words, code, URLs or numbers.

The examples are the corruptions a reader found on real documentation answers (a marker put
at a period inside `random.random()`, `i.e.`, `~/.ssh` and URLs; `tuple([1, 2, 3])` turned
into `tuple([1][2])`); the property test builds answers out of such pieces and checks that
every piece comes out byte for byte, with nothing but markers between them.
"""

from __future__ import annotations

import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.answering.answer_text import markers, protected, segments
from app.answering.citations import (
    attribute_uncited,
    resolve,
    strip_invalid_markers,
    without_markers,
)
from app.answering.support import cited_sentences
from tests.app.sample import passage

GUIDE = passage(
    "Use random.random() to get a float between 0 and 1. Keys live in ~/.ssh on each machine. "
    "Clone from https://git.example.org/team/app.git with the ssh key. "
    "A tuple is written tuple([1, 2, 3]) and the first argument is sys.argv[1]."
)


def test_a_marker_is_added_at_the_end_of_a_sentence_never_inside_a_dotted_name() -> None:
    text, added = attribute_uncited("Use random.random() to get a float between 0 and 1.", [GUIDE])
    assert text == "Use random.random() to get a float between 0 and 1 [1]."
    assert added == {1}


def test_paths_urls_and_abbreviations_keep_their_periods() -> None:
    answer = (
        "Keys live in ~/.ssh on each machine, i.e. in your home. "
        "Clone from https://git.example.org/team/app.git with the ssh key."
    )
    text, _ = attribute_uncited(answer, [GUIDE])
    assert without_markers(text) == answer
    assert "~/.ssh" in text and "https://git.example.org/team/app.git" in text and "i.e." in text
    assert "[1]" in text  # the citations still go somewhere: at the ends of the sentences


def test_bracketed_data_is_not_a_citation() -> None:
    answer = "A tuple is written tuple([1, 2, 3]) and the first argument is sys.argv[1]."
    assert markers(answer) == []
    assert strip_invalid_markers(answer, 2) == answer
    final, _citations, _ = resolve(answer, [GUIDE])
    assert without_markers(final) == answer
    assert "tuple([1, 2, 3])" in final and "sys.argv[1]" in final


def test_code_blocks_and_inline_code_are_left_alone() -> None:
    answer = (
        "Run this:\n\n```sh\ncurl -O https://example.org/a.tar.gz [7]\nls ~/.ssh\n```\n\n"
        "Then `python -c 'import sys; print(sys.argv[1])'` prints it [1]."
    )
    assert [answer[m.start : m.end] for m in markers(answer)] == ["[1]"]
    final, _, _ = resolve(answer, [GUIDE])
    assert "https://example.org/a.tar.gz [7]\nls ~/.ssh" in final
    assert "print(sys.argv[1])" in final


def test_no_marker_is_added_after_a_line_of_code_without_a_full_stop() -> None:
    config = passage("Set the lookup order in host.conf: order hosts,bind and plugin imapd.")
    answer = 'Put this in host.conf:\n- order hosts,bind\n- plugin "ssh %h /usr/sbin/imapd"'
    text, _ = attribute_uncited(answer, [config])
    assert "hosts,bind\n" in text and text.endswith('/usr/sbin/imapd"')


def test_a_question_mark_named_in_a_sentence_does_not_end_it() -> None:
    answer = "Using the trailing ?, ignore the audio channel mapping if the input is mono."
    assert [answer[s.start : s.end] for s in segments(answer)] == [answer]


def test_a_marker_written_against_a_word_is_read() -> None:
    assert [m.numbers for m in markers("It is in the manual[2]. And here [1][3].")] == [
        (2,),
        (1,),
        (3,),
    ]


def test_sentences_end_at_sentence_ends_only() -> None:
    answer = "It costs 3.5 EUR, e.g. for Mr. Smith [1]. Use os.path.join() here.\n- one item\n- two"
    pieces = [answer[s.start : s.end] for s in segments(answer)]
    assert pieces == [
        "It costs 3.5 EUR, e.g. for Mr. Smith [1].",
        "Use os.path.join() here.",
        "- one item",
        "- two",
    ]


def test_protected_stretches_cover_code_urls_and_paths() -> None:
    answer = "See `a.b` at www.example.org or /etc/x.conf and user@example.org."
    assert [answer[a:b] for a, b in protected(answer)] == [
        "`a.b`",
        "www.example.org",
        "/etc/x.conf",
        "user@example.org",
    ]


def test_a_marker_after_the_stop_belongs_to_its_sentence() -> None:
    assert list(cited_sentences("The fee is 45 EUR. [2] Next one [1].")) == [
        ("The fee is 45 EUR.", (2,)),
        ("Next one.", (1,)),
    ]


def test_a_glob_pattern_keeps_its_period() -> None:
    """Found on a real answer: "the glob pattern foo-*.jpeg, you would use" was cut at the
    period after the star, and docent's marker landed inside the file name."""
    answer = (
        "To make a video from files matching the glob pattern foo-*.jpeg, you would use "
        "the image2 demuxer. It also reads *.png or img?.bmp files."
    )
    assert len(segments(answer)) == 2
    images = passage("The image2 demuxer reads files matching a glob pattern such as foo-*.jpeg.")
    final, _citations, _ = resolve(answer, [images])
    assert without_markers(final) == answer
    assert "foo-*.jpeg," in final and "*.png" in final and "img?.bmp" in final


# --- the property: whatever the answer holds, only markers change -------------------------

_WORDS = ["the", "option", "sets", "download", "rate", "manual", "float", "machine", "key"]
_CODE = [
    "random.random()",
    "i.e.",
    "e.g.",
    "~/.ssh",
    "git.example.org",
    "https://git.example.org/a.b",
    "`sys.argv[1]`",
    "sys.argv[1]",
    "tuple([1, 2, 3])",
    "x = [1, 2]",
    "3.5",
    "v1.2.3",
    "user@example.com",
    "`cmd --opt [1]`",
    "[0]",
    "--limit-rate",
    "/etc/apt/sources.list",
    "a_b.c",
    "foo-*.jpeg",
    "*.txt",
    "file?.log",
    "img.*",
]
_STOPS = [".", "!", "?", ".\n", ":\n- ", "\n\n"]
_FENCE = "\n\n```\ncurl -O http://a.b/c [1]\nx.y(2). z\n```\n\n"

_piece = st.one_of(
    st.sampled_from(_WORDS).map(lambda w: (" " + w, False)),
    st.sampled_from(_CODE).map(lambda c: (" " + c, False)),
    st.sampled_from(_STOPS).map(lambda s: (s, False)),
    st.just((_FENCE, False)),
    st.integers(1, 7).map(lambda n: (f" [{n}]", True)),
    st.tuples(st.integers(1, 7), st.integers(1, 7)).map(lambda p: (f"[{p[0]}, {p[1]}]", True)),
)
_GAP = r"(?:[ \t]?\[\d{1,3}(?:, \d{1,3})*\])*"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_piece, min_size=1, max_size=40))
def test_text_outside_markers_is_byte_identical(pieces: list[tuple[str, bool]]) -> None:
    text = "".join(p for p, _ in pieces)
    content = [p for p, is_marker in pieces if not is_marker]
    passages = [
        passage("The option sets the download rate of the machine."),
        passage("The manual says the float key is random.random() on the machine."),
        passage("Keys are kept in ~/.ssh on each machine."),
    ]
    final, _, _ = resolve(text, passages)
    pattern = _GAP + _GAP.join(re.escape(p) for p in content) + _GAP
    assert re.fullmatch(pattern, final, re.S), (text, final)
