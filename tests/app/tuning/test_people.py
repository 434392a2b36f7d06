"""Training examples from people: answers rated up, and admins' corrections of answers rated
down, each in the prompt the model was shown then."""

from __future__ import annotations

from dataclasses import replace

from app.accounts import Accounts
from app.conversations.store import Conversations
from app.generation.prompting import Prompts
from app.tuning.people import people_examples
from tests.app.conversations.test_conversations import Clock, make_answer
from tests.app.sample import PER_DIEM, REMOTE
from tests.app.signin import add_user


def test_rated_up_and_corrected_answers_become_examples_in_docents_prompt(
    accounts: Accounts,
) -> None:
    chats = Conversations(accounts.engine, clock=Clock())
    alice, boss = add_user(accounts, "alice"), add_user(accounts, "boss", role="admin")
    chat = chats.start(alice.id, "chat")
    liked = chats.record(alice.id, chat.id, make_answer("How many remote days?"))
    wrong = make_answer("And the per diem?", "It is 50 EUR [2].", (REMOTE, PER_DIEM))
    disliked = chats.record(
        alice.id, chat.id, replace(wrong, search_query="What is the per diem for travel?")
    )
    ignored = chats.record(alice.id, chat.id, make_answer("Not rated?"))
    assert liked and disliked and ignored
    chats.rate(alice.id, liked.id, "up")
    chats.rate(alice.id, disliked.id, "down", "it is 45")
    chats.correct(disliked.id, boss.id, "The per-diem for domestic travel is 45 EUR [2].")

    prompts = Prompts()
    up, fixed = people_examples(chats.reviewed_answers(), prompts, heldout_percent=0)
    assert (up.origin, up.split, up.question) == ("rated_up", "train", "How many remote days?")
    assert up.messages[:2] == tuple(prompts.messages("How many remote days?", [REMOTE]))
    assert up.target == "You may work remotely three days per week [1]."
    assert up.document == REMOTE.source
    assert fixed.origin == "corrected"
    assert fixed.question == "What is the per diem for travel?"  # what was searched, shown
    assert fixed.messages[1] == prompts.messages(fixed.question, [REMOTE, PER_DIEM])[1]
    assert fixed.target == "The per-diem for domestic travel is 45 EUR [2]."
    assert fixed.note.startswith("corrected by boss on 2026-03-02")


def test_answers_without_passages_give_no_example(accounts: Accounts) -> None:
    chats = Conversations(accounts.engine)
    alice = add_user(accounts, "alice")
    chat = chats.start(alice.id, "chat")
    declined = replace(make_answer("Who won?"), passages=[], citations=[])
    message = chats.record(alice.id, chat.id, declined)
    assert message is not None
    chats.rate(alice.id, message.id, "up")
    assert list(people_examples(chats.reviewed_answers(), Prompts())) == []
