"""Admins' corrections, and the reviewed answers (rated up, corrected) training reads."""

from __future__ import annotations

import pytest

from app.accounts import Accounts, User
from app.conversations.corrections import CorrectionError
from app.conversations.store import Conversations
from tests.app.conversations.test_conversations import Clock, make_answer
from tests.app.signin import add_user


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
def boss(accounts: Accounts) -> User:
    return add_user(accounts, "boss", role="admin")


def _asked(chats: Conversations, user: User, *questions: str) -> list[int]:
    chat = chats.start(user.id, "chat")
    ids = []
    for question in questions:
        message = chats.record(user.id, chat.id, make_answer(question))
        assert message is not None
        ids.append(message.id)
    return ids


def test_a_correction_is_stored_with_who_and_when_and_replaced_by_a_later_one(
    chats: Conversations, alice: User, boss: User, clock: Clock
) -> None:
    (asked,) = _asked(chats, alice, "How many remote days?")
    chats.correct(asked, boss.id, "  Three days per week [1].  ")
    first = chats.corrections([asked])[asked]
    assert (first.text, first.username, first.created_at) == (
        "Three days per week [1].",
        "boss",
        clock.now,
    )
    clock.advance(hours=1)
    chats.correct(asked, boss.id, "Up to three days per week [1].")
    again = chats.corrections([asked])[asked]
    assert (again.text, again.created_at) == ("Up to three days per week [1].", clock.now)


def test_corrections_refuse_empty_text_too_long_text_and_unknown_answers(
    chats: Conversations, alice: User, boss: User
) -> None:
    (asked,) = _asked(chats, alice, "How many remote days?")
    with pytest.raises(CorrectionError, match="write the right answer"):
        chats.correct(asked, boss.id, " \n ")
    with pytest.raises(CorrectionError, match="at most"):
        chats.correct(asked, boss.id, "x" * 9000)
    with pytest.raises(CorrectionError, match="no answer 4242"):
        chats.correct(4242, boss.id, "Right.")
    assert chats.corrections([asked, 4242]) == {}


def test_reviewed_answers_are_rated_up_ones_and_corrected_ones_each_once(
    chats: Conversations, alice: User, boss: User, accounts: Accounts
) -> None:
    bob = add_user(accounts, "bob")
    liked, disputed, fixed, ignored = _asked(chats, alice, "liked?", "disputed?", "fixed?", "no")
    (also_liked,) = _asked(chats, bob, "bob's?")
    chats.rate(alice.id, liked, "up")
    chats.rate(alice.id, disputed, "up")
    chats.rate(alice.id, fixed, "down", "wrong")
    chats.rate(bob.id, also_liked, "up")
    chats.correct(fixed, boss.id, "The right answer [1].")
    chats.correct(disputed, boss.id, "Better [1].")  # corrected: that wins over the rating
    reviewed = chats.reviewed_answers()
    assert [r.message_id for r in reviewed] == [liked, disputed, fixed, also_liked]
    by_id = {r.message_id: r for r in reviewed}
    assert by_id[liked].correction is None
    assert by_id[liked].answer.passages  # what the model was shown comes back
    assert by_id[fixed].correction is not None
    assert by_id[fixed].correction.text == "The right answer [1]."
    assert by_id[disputed].correction is not None
    assert ignored not in by_id


def test_an_answer_rated_up_then_down_is_left_out(chats: Conversations, alice: User) -> None:
    (asked,) = _asked(chats, alice, "changed my mind?")
    chats.rate(alice.id, asked, "up")
    assert [r.message_id for r in chats.reviewed_answers()] == [asked]
    chats.rate(alice.id, asked, "down")  # rating again replaces the first rating
    assert chats.reviewed_answers() == []
