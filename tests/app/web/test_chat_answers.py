"""Answers in a conversation: follow-ups from the stored turns, regenerate, feedback, states."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import select

from app.conversations.tables import feedback
from app.generation.generator import FairQueue
from app.generation.prompting import NOT_FOUND
from app.services import Services
from app.settings import Settings
from app.web import create_app
from tests.app.chatting import (
    HTMX,
    ask_plain,
    ask_streaming,
    conversation_ids,
    regenerate_streaming,
)
from tests.app.sample import ingest_remote_work
from tests.app.signin import add_user, sign_in
from tests.fakes import FakeGenerator

FIRST = "You may work remotely up to three days per week [1]."


def condense_prompt(generator: FakeGenerator, call: int) -> str:
    return generator.calls[call][0].content


def test_a_follow_up_gets_the_stored_conversation_as_context(
    client: TestClient, generator: FakeGenerator
) -> None:
    generator.enqueue(FIRST, "Do contractors get remote days?", "The handbook does not say [1].")
    first = ask_streaming(client, "How many remote days do I get?")
    follow = ask_streaming(client, "And contractors?", first.conversation_id)
    prompt = condense_prompt(generator, 1)  # the model was asked to rewrite the follow-up
    assert "How many remote days do I get?" in prompt
    assert "three days per week" in prompt  # the stored answer, not anything the page sent
    assert "Searching for: Do contractors get remote days?" in follow.events
    assert "Searched for: Do contractors get remote days?" in follow.done
    assert follow.conversation_id == first.conversation_id


def test_a_new_conversation_starts_without_context(
    client: TestClient, generator: FakeGenerator
) -> None:
    generator.enqueue(FIRST, "Three [1].")
    ask_streaming(client, "How many remote days do I get?")
    ask_streaming(client, "And contractors?")  # no conversation id: a fresh conversation
    assert len(generator.calls) == 2  # no rewrite: nothing earlier to lean on
    assert "Searching for:" not in "".join(m.content for m in generator.calls[1])


def test_a_follow_up_without_javascript_uses_the_stored_turns(
    client: TestClient, generator: FakeGenerator
) -> None:
    generator.enqueue(FIRST, "Do contractors get remote days?", "Not stated [1].")
    page = ask_plain(client, "How many remote days do I get?")
    (conversation,) = conversation_ids(page)
    page = ask_plain(client, "And contractors?", conversation)
    assert "How many remote days do I get?" in condense_prompt(generator, 1)
    assert "Searched for: Do contractors get remote days?" in page


def test_regenerate_replaces_the_latest_answer(
    client: TestClient, generator: FakeGenerator, services: Services
) -> None:
    generator.enqueue(FIRST, "Three days, says the handbook [1].")
    first = ask_streaming(client, "How many remote days do I get?")
    again = regenerate_streaming(client, first.message_id)
    assert "Three days, says the handbook" in again.done
    assert again.message_id != first.message_id
    page = client.get(f"/c/{first.conversation_id}").text
    assert "Three days, says the handbook" in page
    assert "You may work remotely" not in page  # the old answer is replaced on the page
    assert page.count('class="question"') == 1
    old = services.conversations.message(1, first.message_id)
    assert old is not None and old.superseded  # kept for analytics and feedback


def test_only_the_latest_answer_can_be_regenerated(
    client: TestClient, generator: FakeGenerator
) -> None:
    first = ask_streaming(client, "How many remote days do I get?")
    ask_streaming(client, "Who approves remote work?", first.conversation_id)
    refused = client.post(f"/messages/{first.message_id}/regenerate", headers=HTMX)
    assert refused.status_code == 409
    assert "latest answer" in refused.json()["detail"]


def test_regenerate_uses_the_turns_before_the_answer_it_replaces(
    client: TestClient, generator: FakeGenerator
) -> None:
    generator.enqueue(FIRST, "Do contractors get remote days?", "Not stated [1].")
    first = ask_streaming(client, "How many remote days do I get?")
    follow = ask_streaming(client, "And contractors?", first.conversation_id)
    generator.enqueue("Do contractors get remote days?", "Contractors: not stated [1].")
    regenerate_streaming(client, follow.message_id)
    prompt = condense_prompt(generator, 3)
    assert "How many remote days do I get?" in prompt
    assert "Not stated" not in prompt  # the answer being replaced is not its own context


def test_regenerate_without_javascript(client: TestClient, generator: FakeGenerator) -> None:
    generator.enqueue(FIRST, "Regenerated: three days [1].")
    first = ask_streaming(client, "How many remote days do I get?")
    page = client.post(f"/messages/{first.message_id}/regenerate")
    assert page.url.path == f"/c/{first.conversation_id}"
    assert "Regenerated: three days" in page.text and "You may work remotely" not in page.text


def test_feedback_is_stored_and_shown(
    client: TestClient, generator: FakeGenerator, services: Services
) -> None:
    generator.enqueue(FIRST)
    first = ask_streaming(client, "How many remote days do I get?")
    assert f'hx-post="/messages/{first.message_id}/feedback"' in first.done
    fragment = client.post(
        f"/messages/{first.message_id}/feedback",
        data={"rating": "down", "comment": "Part-timers get fewer days."},
        headers=HTMX,
    )
    assert fragment.status_code == 200 and "<html" not in fragment.text
    assert "feedback saved" in fragment.text
    assert re.search(r'value="down"[^>]*\s+aria-pressed="true"', fragment.text)
    with services.conversations.engine.connect() as conn:
        rows = conn.execute(select(feedback.c.rating, feedback.c.comment)).all()
    assert rows == [("down", "Part-timers get fewer days.")]
    page = client.get(f"/c/{first.conversation_id}").text
    assert "Part-timers get fewer days." in page  # the comment is there to edit
    plain = client.post(f"/messages/{first.message_id}/feedback", data={"rating": "up"})
    assert plain.url.path == f"/c/{first.conversation_id}"
    assert [i.rating for i in services.conversations.feedback_queue()] == ["up"]
    bad = client.post(f"/messages/{first.message_id}/feedback", data={"rating": "meh"})
    assert bad.status_code == 422 and "unknown rating" in bad.json()["detail"]


def test_an_answer_shows_its_model_and_offers_copy_and_regenerate(
    client: TestClient, generator: FakeGenerator
) -> None:
    generator.enqueue(FIRST)
    first = ask_streaming(client, "How many remote days do I get?")
    page = client.get(f"/c/{first.conversation_id}").text
    assert "Model: Fake Model" in page  # the header: which model answers
    assert 'title="The model that wrote this answer">fake-model<' in page
    assert "data-copy hidden" in page  # shown by chat.js where the clipboard works
    assert f'action="/messages/{first.message_id}/regenerate"' in page
    assert '<script src="/static/chat.js" defer></script>' in page


def test_not_found_is_a_clear_state(client: TestClient, generator: FakeGenerator) -> None:
    generator.enqueue(NOT_FOUND)
    first = ask_streaming(client, "What is the airline policy?")
    assert "Not found in the knowledge base" in first.done
    assert 'class="answer not-found"' in first.done
    page = client.get(f"/c/{first.conversation_id}").text
    assert "Not found in the knowledge base" in page


def test_a_stream_asked_directly_is_not_stored(client: TestClient, services: Services) -> None:
    with client.stream("GET", "/ask/stream", params={"q": "Remote days?"}) as response:
        body = "".join(response.iter_text())
    assert "event: done" in body
    assert services.conversations.list_for(1) == []


def test_a_queued_question_shows_its_place_and_a_busy_model_says_so(
    settings: Settings, services: Services, generator: FakeGenerator, tmp_path: Path
) -> None:
    ingest_remote_work(services, tmp_path)
    add_user(services.accounts, "alice")
    generator.queue = FairQueue()
    options = replace(services.answerer.options, queue_timeout=0.3)
    waiting = replace(services, answerer=replace(services.answerer, options=options))
    holder = generator.queue.join()  # someone else's answer holds the model
    try:
        with TestClient(create_app(settings, waiting)) as client:
            sign_in(client, "alice")
            streamed = ask_streaming(client, "How many remote days do I get?")
            page = client.get(f"/c/{streamed.conversation_id}").text
    finally:
        holder.leave()
    assert "Waiting — 1 ahead of you" in streamed.events
    assert "The model is busy" in streamed.done and 'class="answer failed"' in streamed.done
    assert 'class="question"' not in page  # nothing was stored
    assert generator.calls == []


def test_sources_appear_in_the_stream_as_soon_as_they_are_cited(
    client: TestClient, generator: FakeGenerator
) -> None:
    generator.enqueue("Employees may work remotely three days [1] a week.")
    with client.stream("GET", "/ask/stream", params={"q": "Remote days?"}) as response:
        body = "".join(response.iter_text())
    source = body.index("event: source")
    assert body.index("event: token") < source < body.index("event: done")
    assert body.count("event: source") == 1
    assert "<strong>Remote work</strong>" in body[source : body.index("event: done")]
