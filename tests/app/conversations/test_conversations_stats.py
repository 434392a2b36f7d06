"""Analytics over stored answers: feedback queue, per-day counts, rates, latency, citations."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from app.accounts import Accounts, User
from app.conversations.stats import percentile
from app.conversations.store import Conversations
from tests.app.conversations.test_conversations import Clock, make_answer, not_found
from tests.app.sample import PER_DIEM, REMOTE
from tests.app.signin import add_user


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 3, 2, 9, 0))


@pytest.fixture
def chats(accounts: Accounts, clock: Clock) -> Conversations:
    return Conversations(accounts.engine, clock=clock)


@pytest.fixture
def alice(accounts: Accounts) -> User:
    return add_user(accounts, "alice")


def test_feedback_queue_puts_thumbs_down_first_then_newest(
    chats: Conversations, accounts: Accounts, alice: User, clock: Clock
) -> None:
    bob = add_user(accounts, "bob")
    rated = []
    for user, question, rating in [
        (alice, "old down", "down"),
        (bob, "up", "up"),
        (alice, "new down", "down"),
    ]:
        conversation = chats.start(user.id, question)
        answer = make_answer(question, cited=(REMOTE, PER_DIEM))
        message = chats.record(user.id, conversation.id, answer)
        assert message is not None
        chats.rate(user.id, message.id, rating, f"comment on {question}")
        rated.append(message.id)
        clock.advance(minutes=5)
    queue = chats.feedback_queue()
    assert [item.question for item in queue] == ["new down", "old down", "up"]
    first = queue[0]
    assert (first.username, first.rating, first.comment) == ("alice", "down", "comment on new down")
    assert first.message_id == rated[2]
    assert [s["title"] for s in first.sources] == ["Employee Handbook", "Expenses Policy"]
    assert first.answer_text == "You may work remotely three days per week [1]."
    assert [i.question for i in chats.feedback_queue(rating="up")] == ["up"]
    assert [i.question for i in chats.feedback_queue(limit=1, offset=1)] == ["old down"]
    assert chats.feedback_counts() == {"up": 1, "down": 2}


def test_daily_counts_cover_every_day_of_the_window(
    chats: Conversations, alice: User, clock: Clock
) -> None:
    conversation = chats.start(alice.id, "q")
    first = chats.record(alice.id, conversation.id, make_answer("q1"))  # March 2
    chats.record(alice.id, conversation.id, not_found("q2", refused=True))
    clock.advance(days=2)  # March 4
    chats.record(alice.id, conversation.id, not_found("q3"))
    assert first is not None
    chats.record(alice.id, conversation.id, make_answer("q1"), replaces=first.id)  # regenerated
    days = chats.daily_counts(days=4, today=date(2026, 3, 4))
    assert [d.day.day for d in days] == [1, 2, 3, 4]
    assert [(d.questions, d.answers, d.not_found, d.refused) for d in days] == [
        (0, 0, 0, 0),
        (2, 2, 1, 1),
        (0, 0, 0, 0),
        (1, 2, 1, 0),
    ]
    assert len(chats.daily_counts(days=30)) == 30  # up to the clock's today


def test_answer_rates(chats: Conversations, alice: User, clock: Clock) -> None:
    assert chats.answer_rates().refusal_rate == 0.0  # nothing asked yet: no division by zero
    conversation = chats.start(alice.id, "q")
    chats.record(alice.id, conversation.id, make_answer("q1"))
    chats.record(alice.id, conversation.id, make_answer("q2"))
    chats.record(alice.id, conversation.id, not_found("q3"))
    clock.advance(days=1)
    chats.record(alice.id, conversation.id, not_found("q4", refused=True))
    rates = chats.answer_rates()
    assert (rates.answers, rates.not_found, rates.refused) == (4, 2, 1)
    assert rates.refusal_rate == 0.25 and rates.not_found_rate == 0.5
    assert chats.answer_rates(since=clock.now).answers == 1


def test_latency_percentiles(chats: Conversations, alice: User) -> None:
    conversation = chats.start(alice.id, "q")
    for n, total in enumerate([100.0, 200.0, 300.0, 400.0, 1000.0]):
        answer = make_answer(f"q{n}", first_token_ms=total / 10, total_ms=total)
        chats.record(alice.id, conversation.id, answer)
    chats.record(alice.id, conversation.id, not_found("refused", refused=True))  # no first token
    latency = chats.latency_percentiles(percentiles=(50, 95))
    assert latency.answers == 6
    assert latency.first_token_ms == {50: 30.0, 95: pytest.approx(88.0)}
    assert latency.total_ms[50] == 350.0  # not_found's total_ms is 900 in the helper
    assert chats.latency_percentiles(since=datetime(2030, 1, 1)).total_ms == {50: None, 95: None}


def test_percentile_interpolates_between_ranks() -> None:
    assert percentile([], 50) is None
    assert percentile([5.0], 95) == 5.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.5
    assert percentile([1.0, 2.0, 3.0, 4.0], 100) == 4.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 0) == 1.0


def test_most_cited_counts_answers_per_document(
    chats: Conversations, alice: User, clock: Clock
) -> None:
    conversation = chats.start(alice.id, "q")
    chats.record(alice.id, conversation.id, make_answer("a", cited=(REMOTE,)))
    chats.record(alice.id, conversation.id, make_answer("b", cited=(REMOTE, PER_DIEM)))
    chats.record(alice.id, conversation.id, not_found("c"))
    clock.advance(days=1)
    chats.record(alice.id, conversation.id, make_answer("d", cited=(PER_DIEM,)))
    chats.record(alice.id, conversation.id, make_answer("e", cited=(PER_DIEM,)))
    top = chats.most_cited()
    assert [(c.doc_id, c.title, c.answers) for c in top] == [
        ("doc-2", "Expenses Policy", 3),
        ("doc-1", "Employee Handbook", 2),
    ]
    assert [c.doc_id for c in chats.most_cited(limit=1)] == ["doc-2"]
    assert [(c.doc_id, c.answers) for c in chats.most_cited(since=clock.now)] == [("doc-2", 2)]
