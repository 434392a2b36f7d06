"""Answers given through `/api/v1/ask` and `/v1` are recorded like the chat page's: usage
figures count every surface, and the chat page's list keeps to the chats."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select, text

from app.conversations.store import Conversations
from app.conversations.tables import conversations
from app.services import Services
from tests.app.signin import add_user
from tests.fakes import FakeGenerator

QUESTION = "How many days a week can I work from home?"
REPLY = "You may work remotely three days per week [1]."


def _bearer(services: Services) -> dict[str, str]:
    user = services.accounts.find_user("alice") or add_user(services.accounts, "alice")
    return {"Authorization": f"Bearer {services.accounts.issue_api_token(user.id, 'script')}"}


def _surfaces(services: Services) -> list[str]:
    with services.accounts.engine.connect() as conn:
        return list(conn.execute(select(conversations.c.surface).order_by(conversations.c.id)))


def test_answers_from_every_surface_are_counted(
    client: TestClient, services: Services, generator: FakeGenerator
) -> None:
    generator.enqueue(REPLY, REPLY, REPLY, REPLY)
    headers = _bearer(services)
    assert client.post("/ask", data={"question": QUESTION}).status_code == 200
    api = client.post("/api/v1/ask", json={"question": QUESTION}, headers=headers)
    assert api.status_code == 200, api.text
    body = {"model": "docent", "messages": [{"role": "user", "content": QUESTION}]}
    whole = client.post("/v1/chat/completions", json=body, headers=headers)
    assert whole.status_code == 200, whole.text
    streamed = client.post("/v1/chat/completions", json=body | {"stream": True}, headers=headers)
    assert streamed.status_code == 200 and "[DONE]" in streamed.text
    assert [s for (s,) in _surfaces(services)] == ["chat", "api", "openai", "openai"]
    rates = services.conversations.answer_rates()
    assert rates.answers == 4
    alice = services.accounts.find_user("alice")
    assert alice is not None
    listed = services.conversations.list_for(alice.id)
    assert len(listed) == 1  # the chat page lists its own conversation only


def test_a_stream_left_before_its_end_records_nothing(
    client: TestClient, services: Services, generator: FakeGenerator
) -> None:
    generator.enqueue(REPLY)
    body = {"model": "docent", "messages": [{"role": "user", "content": QUESTION}], "stream": True}
    with client.stream("POST", "/v1/chat/completions", json=body, headers=_bearer(services)) as r:
        next(r.iter_lines())
    assert _surfaces(services) == []


def test_a_database_from_before_surfaces_gains_the_column(services: Services) -> None:
    """Conversations stored by an older docent (no surface column) are chats."""
    alice = add_user(services.accounts, "alice")
    chat = services.conversations.start(alice.id, "old chat")
    with services.accounts.engine.begin() as conn:
        conn.execute(text("ALTER TABLE conversations DROP COLUMN surface"))
    Conversations(services.accounts.engine)  # what opening the app's conversations does
    assert [c.id for c in services.conversations.list_for(alice.id)] == [chat.id]
