"""Conversation pages: the sidebar list, open, rename, delete — the user's own only."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.services import Services
from app.settings import Settings
from app.web import create_app
from app.web.auth import CSRF_HEADER
from tests.app.chatting import HTMX, ask_plain, ask_streaming, conversation_ids
from tests.app.sample import ingest_remote_work
from tests.app.signin import add_user, sign_in
from tests.fakes import FakeGenerator


@pytest.fixture
def app_under_test(settings: Settings, services: Services, tmp_path: Path) -> Iterator[TestClient]:
    ingest_remote_work(services, tmp_path)
    add_user(services.accounts, "alice")
    add_user(services.accounts, "bob")
    with TestClient(create_app(settings, services)) as client:
        yield client


@pytest.fixture
def alice(app_under_test: TestClient) -> TestClient:
    sign_in(app_under_test, "alice")
    return app_under_test


def as_bob(client: TestClient) -> TestClient:
    """A second browser, signed in as bob, on the same app."""
    other = TestClient(client.app)
    sign_in(other, "bob")
    return other


def test_asking_starts_a_conversation_listed_in_the_sidebar(
    alice: TestClient, generator: FakeGenerator
) -> None:
    assert conversation_ids(alice.get("/").text) == []
    generator.enqueue("Three days per week [1].")
    streamed = ask_streaming(alice, "How many remote days do I get?")
    assert 'id="conversation-id"' in streamed.fragment and 'hx-swap-oob="true"' in streamed.fragment
    assert f'value="{streamed.conversation_id}"' in streamed.fragment  # follow-ups go there
    assert 'hx-swap-oob="afterbegin:#conversation-list"' in streamed.fragment
    page = alice.get("/").text
    assert conversation_ids(page) == [streamed.conversation_id]
    assert "How many remote days do I get?" in page  # titled by the first question
    opened = alice.get(f"/c/{streamed.conversation_id}").text
    assert "Three days per week" in opened
    assert 'aria-current="page"' in opened
    assert f'name="conversation_id" value="{streamed.conversation_id}"' in opened


def test_the_newest_active_conversation_is_listed_first(
    alice: TestClient, generator: FakeGenerator
) -> None:
    first = ask_streaming(alice, "How many remote days?").conversation_id
    second = ask_streaming(alice, "Who approves remote work?").conversation_id
    assert conversation_ids(alice.get("/").text) == [second, first]
    ask_streaming(alice, "And on Fridays?", first)
    assert conversation_ids(alice.get("/").text) == [first, second]


def test_another_users_conversation_is_not_found(
    alice: TestClient, generator: FakeGenerator
) -> None:
    generator.enqueue("Three days per week [1].")
    conversation = ask_streaming(alice, "How many remote days?").conversation_id
    message = ask_streaming(alice, "Remote days again?", conversation).message_id
    bob = as_bob(alice)
    assert bob.get(f"/c/{conversation}").status_code == 404
    assert bob.post(f"/c/{conversation}/rename", data={"title": "mine"}).status_code == 404
    assert bob.post(f"/c/{conversation}/delete").status_code == 404
    assert (
        bob.post("/ask", data={"question": "x", "conversation_id": conversation}).status_code == 404
    )
    assert bob.post(f"/messages/{message}/feedback", data={"rating": "down"}).status_code == 404
    assert bob.post(f"/messages/{message}/regenerate").status_code == 404
    assert conversation_ids(bob.get("/").text) == []
    page = alice.get(f"/c/{conversation}")
    assert page.status_code == 200 and "How many remote days?" in page.text  # all untouched


def test_a_question_key_is_for_the_user_who_asked(alice: TestClient) -> None:
    fragment = alice.post("/ask", data={"question": "Remote days?"}, headers=HTMX).text
    key = fragment.split("/ask/stream?key=")[1].split('"')[0]
    bob = as_bob(alice)
    assert bob.get("/ask/stream", params={"key": key}).status_code == 404


def test_rename_with_htmx_and_without(alice: TestClient) -> None:
    conversation = ask_streaming(alice, "How many remote days?").conversation_id
    item = alice.post(
        f"/c/{conversation}/rename",
        data={"title": "Remote work rules"},
        headers=HTMX | {"HX-Current-URL": f"http://testserver/c/{conversation}"},
    )
    assert item.status_code == 200 and "<html" not in item.text
    assert f'<li id="conv-{conversation}" class="current">' in item.text
    assert "Remote work rules" in item.text
    page = alice.post(f"/c/{conversation}/rename", data={"title": "  Days at home "})
    assert page.url.path == f"/c/{conversation}"  # redirected back to the conversation
    assert "<title>Days at home · docent</title>" in page.text


def test_a_blank_title_is_refused_and_loses_nothing(alice: TestClient) -> None:
    conversation = ask_streaming(alice, "How many remote days?").conversation_id
    item = alice.post(f"/c/{conversation}/rename", data={"title": "   "}, headers=HTMX)
    assert "a conversation needs a title" in item.text
    page = alice.post(f"/c/{conversation}/rename", data={"title": "   "})
    assert page.status_code == 422 and "a conversation needs a title" in page.text
    assert "How many remote days?" in alice.get(f"/c/{conversation}").text


def test_delete_with_htmx_and_without(alice: TestClient) -> None:
    first = ask_streaming(alice, "How many remote days?").conversation_id
    second = ask_streaming(alice, "Who approves it?").conversation_id
    elsewhere = alice.post(f"/c/{first}/delete", headers=HTMX | {"HX-Current-URL": "/"})
    assert elsewhere.status_code == 200 and elsewhere.text == ""  # the list item goes
    here = alice.post(
        f"/c/{second}/delete", headers=HTMX | {"HX-Current-URL": f"http://testserver/c/{second}"}
    )
    assert here.headers["HX-Redirect"] == "/"  # the open conversation went: start afresh
    assert alice.get(f"/c/{first}").status_code == 404
    third = ask_streaming(alice, "Anything else?").conversation_id
    page = alice.post(f"/c/{third}/delete")
    assert page.url.path == "/"
    assert conversation_ids(page.text) == []


def test_state_changes_need_the_csrf_token(alice: TestClient) -> None:
    conversation = ask_streaming(alice, "How many remote days?").conversation_id
    del alice.headers[CSRF_HEADER]
    assert alice.post(f"/c/{conversation}/rename", data={"title": "x"}).status_code == 403
    assert alice.post(f"/c/{conversation}/delete").status_code == 403
    assert alice.get(f"/c/{conversation}").status_code == 200


def test_without_javascript_the_form_carries_the_conversation(
    alice: TestClient, generator: FakeGenerator
) -> None:
    generator.enqueue("Three days per week [1].")
    page = ask_plain(alice, "How many remote days do I get?")
    (conversation,) = conversation_ids(page)
    assert f'name="conversation_id" value="{conversation}"' in page
    ask_plain(alice, "Who approves remote work?", conversation)
    opened = alice.get(f"/c/{conversation}").text
    assert opened.index("How many remote days do I get?") < opened.index("Who approves")
    assert conversation_ids(opened) == [conversation]


def test_unknown_or_malformed_conversation_ids_are_not_found(alice: TestClient) -> None:
    assert alice.get("/c/999").status_code == 404
    assert alice.post("/ask", data={"question": "x", "conversation_id": "999"}).status_code == 404
    assert (
        alice.post("/ask", data={"question": "x", "conversation_id": "1 OR 1"}).status_code == 404
    )
    assert alice.post("/ask", data={"question": "   "}).status_code == 422
