from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from fastapi.testclient import TestClient

from app.answering.grounding import GroundingOptions
from app.answering.yes_denied import REASKED
from app.services import Services
from app.settings import Settings
from app.web import create_app
from tests.app.sample import ingest_remote_work, ingest_text
from tests.app.signin import add_user, sign_in
from tests.fakes import FakeGenerator


def test_chat_page_shows_the_form_and_the_answering_model(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200
    assert 'hx-post="/ask"' in page.text
    assert "Fake Model" in page.text
    assert "/static/vendor/htmx.min.js" in page.text


def test_htmx_post_returns_a_streaming_fragment(client: TestClient) -> None:
    response = client.post(
        "/ask", data={"question": "Remote days?"}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    assert "<html" not in response.text
    assert 'sse-connect="/ask/stream?key=' in response.text


def test_stream_sends_tokens_then_the_rendered_answer_with_sources(
    client: TestClient, generator: FakeGenerator
) -> None:
    reply = "You may work remotely three days per week [1]."
    generator.enqueue(reply)
    with client.stream("GET", "/ask/stream", params={"q": "How many remote days?"}) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        body = "".join(response.iter_text())
    events = [block.split("\n")[0] for block in body.strip().split("\n\n")]
    assert events[0] == "event: status"
    assert events.count("event: token") == len(reply.split(" "))  # the fake streams by word
    assert events[-1] == "event: done"
    done = body.split("event: done\n")[1]
    assert 'class="cite"' in done
    assert "Remote work" in done  # the cited document's title in the sources list


def test_plain_form_post_without_javascript_gets_the_whole_answer(
    client: TestClient, generator: FakeGenerator, tmp_path: Path
) -> None:
    generator.enqueue("Three days per week [1].")
    page = client.post("/ask", data={"question": "Remote days?"})
    assert page.status_code == 200
    assert "<html" in page.text
    assert "Three days per week" in page.text
    assert "Employees may work remotely" in page.text
    assert "remote.md" in page.text
    assert str(tmp_path) not in page.text  # the server's folders are not shown to users


def test_model_output_is_rendered_inert(client: TestClient, generator: FakeGenerator) -> None:
    generator.enqueue("<script>alert(1)</script> [1]")
    page = client.post("/ask", data={"question": "Remote days?"})
    assert "<script>alert(1)</script>" not in page.text
    assert "&lt;script&gt;" in page.text


def test_empty_and_oversized_questions_are_refused(client: TestClient) -> None:
    assert client.post("/ask", data={"question": ""}).status_code == 422
    assert client.post("/ask", data={"question": "x" * 2001}).status_code == 422
    assert client.post("/api/v1/ask", json={"question": ""}).status_code == 422


def test_json_api_returns_the_answer_object(client: TestClient, generator: FakeGenerator) -> None:
    generator.enqueue("You may work remotely three days per week [1].")
    data = client.post("/api/v1/ask", json={"question": "Remote days?"}).json()
    assert data["answer"] == "You may work remotely three days per week [1]."
    assert data["found"] is True
    assert data["citations"][0]["number"] == 1
    assert data["citations"][0]["title"] == "Remote work"
    assert data["model"] == "fake-model"
    assert set(data["timings"]) >= {"retrieval_ms", "first_token_ms", "tokens_per_second"}


def test_healthz_says_only_that_docent_is_up(client: TestClient) -> None:
    data = client.get("/healthz").json()
    assert data == {"status": "ok"}  # public: nothing about the model or the documents


def test_sources_highlight_the_supporting_span_and_flag_unconfirmed_claims(
    client: TestClient, generator: FakeGenerator
) -> None:
    generator.enqueue("You may work remotely up to three days per week [1].")
    page = client.post("/ask", data={"question": "Remote days?"}).text
    assert "<mark>Employees may work remotely up to three days per week.</mark>" in page
    assert "could not be confirmed" not in page

    generator.enqueue("You may work remotely up to five days per week [1].")
    page = client.post("/ask", data={"question": "Remote days?"}).text
    assert "1 statement could not be confirmed" in page
    assert "not confirmed" in page


def test_refusal_lists_the_closest_documents(
    settings: Settings, services: Services, generator: FakeGenerator, tmp_path: Path
) -> None:
    ingest_remote_work(services, tmp_path)
    strict = replace(
        services.answerer, options=replace(services.answerer.options, min_evidence=0.99)
    )
    add_user(services.accounts, "alice")
    with TestClient(create_app(settings, replace(services, answerer=strict))) as client:
        sign_in(client, "alice")
        page = client.post("/ask", data={"question": "Which airline do we use?"}).text
    assert "I could not find the answer in the knowledge base." in page
    assert "not close enough to answer from" in page
    assert "Remote work" in page
    assert generator.calls == []


def test_an_answer_asked_for_again_shows_the_second_answer_and_says_why(
    settings: Settings, services: Services, generator: FakeGenerator, tmp_path: Path
) -> None:
    ingest_text(services, tmp_path / "abroad.md", "# Abroad\n\nStaff may not work from abroad.\n")
    options = replace(services.answerer.options, grounding=GroundingOptions())
    plain = replace(services, answerer=replace(services.answerer, options=options))
    generator.doubt = 0.1
    generator.enqueue("Yes, staff can work from abroad [1].", "No, staff may not go abroad [1].")
    add_user(services.accounts, "alice")
    with TestClient(create_app(settings, plain)) as client:
        sign_in(client, "alice")
        page = client.post("/ask", data={"question": "Can staff work from abroad?"}).text
    assert "No, staff may not go abroad" in page
    assert "Yes, staff can work from abroad" not in page
    assert f"docent asked the model again: {REASKED}." in page


def test_json_api_takes_the_conversation(client: TestClient, generator: FakeGenerator) -> None:
    generator.enqueue("Do contractors get remote days?", "Not stated [1].")
    data = client.post(
        "/api/v1/ask",
        json={
            "question": "And contractors?",
            "conversation": [{"question": "How many remote days?", "answer": "Three [1]."}],
        },
    ).json()
    assert data["search_query"] == "Do contractors get remote days?"
    assert data["question"] == "And contractors?"
