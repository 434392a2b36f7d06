"""The Conversations service: own conversations only, stored answers, turns, feedback."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from app.accounts import Accounts, User
from app.accounts.db import users
from app.answering.answer import Answer, Timings
from app.answering.api_view import answer_dict
from app.answering.citations import Citation
from app.answering.grounding import Grounding, Subject
from app.answering.support import Claim, Span
from app.conversations.store import ConversationError, Conversations, title_for
from app.conversations.stored_answer import FORMAT, StoredAccess, answer_from_stored, stored
from app.conversations.tables import feedback, message_sources, messages
from app.generation.prompting import NOT_FOUND
from ingest.access import Access
from ingest.types import Passage
from tests.app.sample import PER_DIEM, REMOTE
from tests.app.signin import add_user


def _every_document(doc_ids: object) -> dict[str, tuple[str, ...]]:
    return dict.fromkeys(doc_ids, ())  # type: ignore[call-overload]


EVERYTHING = StoredAccess(_every_document, Access.public())  # every stored source still readable


class Clock:
    """A settable clock (naive UTC, as stored)."""

    def __init__(self, start: datetime = datetime(2026, 3, 2, 9, 0)) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def make_answer(
    question: str,
    text: str = "You may work remotely three days per week [1].",
    cited: Sequence[Passage] = (REMOTE,),
    *,
    refused: bool = False,
    first_token_ms: float | None = 120.0,
    total_ms: float = 900.0,
) -> Answer:
    citations = [
        Citation(n, p, span=Span(0, 10), supported=True) for n, p in enumerate(cited, start=1)
    ]
    claim = Claim(text, (1,), 0.9, True, None, None)
    timings = Timings(10.0, first_token_ms, total_ms - 10, total_ms - 200, total_ms, 50, 12)
    return Answer(
        question=question,
        text=text,
        citations=citations,
        passages=list(cited) or [REMOTE],
        model="fake-model",
        prompt_version="abc123",
        timings=timings,
        claims=[claim] if cited else [],
        refused=refused,
        evidence=0.8,
    )


def not_found(question: str, refused: bool = False) -> Answer:
    return make_answer(question, NOT_FOUND, (), refused=refused, first_token_ms=None)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def chats(accounts: Accounts, clock: Clock) -> Conversations:
    return Conversations(accounts.engine, clock=clock)


@pytest.fixture
def alice(accounts: Accounts) -> User:
    return add_user(accounts, "alice")


@pytest.fixture
def bob(accounts: Accounts) -> User:
    return add_user(accounts, "bob")


def test_a_conversation_is_seen_and_changed_by_its_owner_only(
    chats: Conversations, alice: User, bob: User
) -> None:
    mine = chats.start(alice.id, "How many remote days do I get?")
    assert chats.get(alice.id, mine.id) == mine
    assert chats.get(bob.id, mine.id) is None
    assert chats.list_for(bob.id) == []
    assert chats.rename(bob.id, mine.id, "stolen") is None
    assert chats.delete(bob.id, mine.id) is False
    assert chats.record(bob.id, mine.id, make_answer("x")) is None
    assert chats.get(alice.id, mine.id) == mine  # untouched by bob's tries
    assert chats.messages(bob.id, mine.id, EVERYTHING) == []


def test_list_is_most_recently_active_first(
    chats: Conversations, alice: User, clock: Clock
) -> None:
    first = chats.start(alice.id, "first")
    clock.advance(minutes=1)
    second = chats.start(alice.id, "second")
    assert [c.id for c in chats.list_for(alice.id)] == [second.id, first.id]
    clock.advance(minutes=1)
    chats.record(alice.id, first.id, make_answer("first"))
    assert [c.id for c in chats.list_for(alice.id)] == [first.id, second.id]


def test_titles_are_one_line_and_cut_at_a_word() -> None:
    assert title_for("  How many\nremote   days? ") == "How many remote days?"
    long = title_for("word " * 40)
    assert long.endswith("…") and len(long) <= 81 and "  " not in long
    assert title_for("   ") == "New conversation"


def test_rename_checks_the_title(chats: Conversations, alice: User) -> None:
    conversation = chats.start(alice.id, "q")
    renamed = chats.rename(alice.id, conversation.id, "  Remote   work  ")
    assert renamed is not None and renamed.title == "Remote work"
    with pytest.raises(ConversationError, match="needs a title"):
        chats.rename(alice.id, conversation.id, "   ")
    with pytest.raises(ConversationError, match="at most 200"):
        chats.rename(alice.id, conversation.id, "x" * 201)
    assert chats.get(alice.id, conversation.id).title == "Remote work"  # type: ignore[union-attr]


def test_recorded_answer_round_trips_with_its_figures(chats: Conversations, alice: User) -> None:
    conversation = chats.start(alice.id, "Remote days?")
    answer = make_answer("Remote days?", cited=(REMOTE, PER_DIEM))
    message = chats.record(alice.id, conversation.id, answer)
    assert message is not None
    assert message.answer == answer  # the stored format keeps all of it
    assert (message.found, message.refused, message.model) == (True, False, "fake-model")
    assert (message.first_token_ms, message.total_ms) == (120.0, 900.0)
    with chats.engine.connect() as conn:
        cited = conn.execute(select(message_sources.c.doc_id, message_sources.c.title)).all()
    assert sorted(cited) == [("doc-1", "Employee Handbook"), ("doc-2", "Expenses Policy")]


def test_every_part_of_an_answer_is_stored_and_read_back() -> None:
    answer = replace(
        make_answer("Remote days?", cited=(REMOTE, PER_DIEM)),
        dropped=[replace(PER_DIEM, chunk_spans=((0, 5), (3, 20)), similarity=0.4)],
        reasoning="thinking",
        declined="",
        model_text="You may work remotely three days per week [1].",
        grounding=Grounding(Subject(("remote",), ("remote",)), Subject(("remote",), ()), 0.5),
        search_query="remote work days",
    )
    back = answer_from_stored(json.loads(json.dumps(stored(answer))))
    assert back == answer
    assert back.dropped[0].chunk_spans == ((0, 5), (3, 20))
    assert back.dropped[0].similarity == 0.4
    assert stored(answer)["format"] == FORMAT and "answer" not in stored(answer)  # not the API's


def test_rows_stored_as_the_api_json_before_the_format_still_show() -> None:
    answer = make_answer("Remote days?", cited=(REMOTE, PER_DIEM))
    old = answer_from_stored(json.loads(json.dumps(answer_dict(answer))))
    assert old.text == answer.text
    assert old.citations[1].passage.page_start == 3
    assert old.citations[0].span == Span(0, 10)
    assert answer_dict(old) == answer_dict(answer)


def test_a_newer_stored_format_is_refused_with_a_reason() -> None:
    data = stored(make_answer("q")) | {"format": FORMAT + 1}
    with pytest.raises(ValueError, match="newer than this docent"):
        answer_from_stored(data)


def test_turns_are_the_last_answers_that_found_something(
    chats: Conversations, alice: User, bob: User
) -> None:
    conversation = chats.start(alice.id, "q1")
    ids = []
    for n in range(1, 6):
        answer = make_answer(f"q{n}", f"a{n} [1].") if n != 4 else not_found("q4")
        ids.append(chats.record(alice.id, conversation.id, answer).id)  # type: ignore[union-attr]
    turns = chats.turns(alice.id, conversation.id, EVERYTHING)
    assert [t.question for t in turns] == ["q2", "q3", "q5"]  # q4 found nothing
    assert turns[-1].answer == "a5 [1]."
    assert [
        t.question for t in chats.turns(alice.id, conversation.id, EVERYTHING, before=ids[2])
    ] == [
        "q1",
        "q2",
    ]
    assert chats.turns(bob.id, conversation.id, EVERYTHING) == ()  # not bob's


def test_regenerating_replaces_the_shown_answer_and_keeps_the_old_one(
    chats: Conversations, alice: User
) -> None:
    conversation = chats.start(alice.id, "q")
    old = chats.record(alice.id, conversation.id, make_answer("q", "old [1]."))
    assert old is not None and chats.is_latest(old)
    new = chats.record(alice.id, conversation.id, make_answer("q", "new [1]."), replaces=old.id)
    assert new is not None and new.replaces == old.id
    assert [m.answer_text for m in chats.messages(alice.id, conversation.id, EVERYTHING)] == [
        "new [1]."
    ]
    old_now = chats.message(alice.id, old.id)
    assert old_now is not None and old_now.superseded and not chats.is_latest(old_now)
    # a second regeneration of the same answer (a double click) leaves one answer shown
    again = chats.record(alice.id, conversation.id, make_answer("q", "again [1]."), old.id)
    assert [m.id for m in chats.messages(alice.id, conversation.id, EVERYTHING)] == [again.id]  # type: ignore[union-attr]


def test_feedback_is_stored_once_per_user_and_answer(
    chats: Conversations, alice: User, bob: User
) -> None:
    conversation = chats.start(alice.id, "q")
    message = chats.record(alice.id, conversation.id, make_answer("q"))
    assert message is not None and message.feedback is None
    rated = chats.rate(alice.id, message.id, "down", "  Wrong number of days. ")
    assert rated is not None and rated.feedback is not None
    assert (rated.feedback.rating, rated.feedback.comment) == ("down", "Wrong number of days.")
    rated = chats.rate(alice.id, message.id, "up")
    assert rated.feedback.rating == "up" and rated.feedback.comment == ""  # type: ignore[union-attr]
    assert chats.rate(bob.id, message.id, "down") is None  # not bob's answer
    with pytest.raises(ConversationError, match="unknown rating"):
        chats.rate(alice.id, message.id, "meh")
    with pytest.raises(ConversationError, match="at most 2000"):
        chats.rate(alice.id, message.id, "up", "x" * 2001)
    with chats.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(feedback)).scalar() == 1


def test_deleting_a_conversation_deletes_its_answers_and_feedback(
    chats: Conversations, alice: User
) -> None:
    keep = chats.start(alice.id, "keep")
    kept = chats.record(alice.id, keep.id, make_answer("keep"))
    gone = chats.start(alice.id, "gone")
    message = chats.record(alice.id, gone.id, make_answer("gone"))
    assert message is not None and kept is not None
    chats.rate(alice.id, message.id, "down", "bad")
    assert chats.delete(alice.id, gone.id) is True
    assert chats.get(alice.id, gone.id) is None
    assert chats.message(alice.id, message.id) is None
    with chats.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(messages)).scalar() == 1
        assert conn.execute(select(func.count()).select_from(feedback)).scalar() == 0
        sources = conn.execute(select(message_sources.c.message_id)).scalars().all()
    assert sources == [kept.id]


def test_a_deleted_user_takes_their_conversations(
    chats: Conversations, accounts: Accounts, alice: User
) -> None:
    conversation = chats.start(alice.id, "q")
    chats.record(alice.id, conversation.id, make_answer("q"))
    with accounts.engine.begin() as conn:
        conn.execute(users.delete().where(users.c.id == alice.id))
    with chats.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(messages)).scalar() == 0


def test_answer_text_with_anything_in_it_is_kept_as_is(chats: Conversations, alice: User) -> None:
    conversation = chats.start(alice.id, "q")
    text = "Ünïcode ✓, quotes \" ' and <b>tags</b> [1]."
    message = chats.record(alice.id, conversation.id, replace(make_answer("q"), text=text))
    assert message is not None and message.answer_text == text
    assert message.answer.text == text
