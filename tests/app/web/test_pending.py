"""The questions waiting for their stream: one user's posting never evicts another's."""

from __future__ import annotations

from app.web import pending as pending_module
from app.web.pending import MAX_PENDING, PendingQuestion, PendingQuestions


def test_one_user_posting_many_questions_evicts_only_their_own() -> None:
    pending = PendingQuestions()
    alices = pending.put(PendingQuestion("alice's question", user_id=1, conversation_id=1))
    bobs = [
        pending.put(PendingQuestion(f"flood {n}", user_id=2, conversation_id=2))
        for n in range(MAX_PENDING + 10)
    ]
    taken = pending.take(alices, 1)
    assert taken is not None and taken.question == "alice's question"
    assert pending.take(bobs[-1], 2) is not None  # bob's newest is there
    cap = pending_module.MAX_PENDING_PER_USER
    assert pending.take(bobs[-cap - 1], 2) is None  # his older ones went
    assert sum(pending.take(key, 2) is not None for key in bobs) == cap - 1
