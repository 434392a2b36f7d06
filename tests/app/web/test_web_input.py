"""Hostile web input: oversized and malformed questions, invalid UTF-8, script in questions,
titles and model output. Each gets a clear 4xx (never a 5xx), nothing runs in the page, and the
app answers normally afterwards. Property tests (hypothesis) throw arbitrary text and bytes at
every field a signed-in user can fill."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.services import Services
from app.web.chat import MAX_QUESTION_CHARS
from ingest.pipeline import IngestOptions, ingest_paths
from tests.fakes import FakeGenerator

FUZZ = settings(
    max_examples=40,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
PAYLOADS = (
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "<svg onload=alert(1)>",
    "javascript:alert(1)",
)
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
PAGE = {"Accept": "text/html"}


def still_answers(client: TestClient, generator: FakeGenerator) -> None:
    generator.enqueue("You may work remotely three days per week [1].")
    response = client.post("/api/v1/ask", json={"question": "How many remote days?"})
    assert response.status_code == 200, response.text
    assert response.json()["answer"].startswith("You may work remotely")


# --- oversized -----------------------------------------------------------------------------------
def test_an_oversized_question_is_refused_on_every_path_before_the_model(
    client: TestClient, generator: FakeGenerator
) -> None:
    long = "How many remote days? " * (MAX_QUESTION_CHARS // 10)
    assert len(long) > MAX_QUESTION_CHARS
    responses = {
        "form": client.post("/ask", data={"question": long}),
        "page": client.post("/ask", data={"question": long}, headers=PAGE),
        "htmx": client.post("/ask", data={"question": long}, headers={"HX-Request": "true"}),
        "stream": client.get("/ask/stream", params={"q": long}),
        "api": client.post("/api/v1/ask", json={"question": long}),
        "api turn": client.post(
            "/api/v1/ask",
            json={"question": "And?", "conversation": [{"question": long, "answer": "x"}]},
        ),
        "openai": client.post(
            "/v1/chat/completions",
            json={"model": "docent", "messages": [{"role": "user", "content": long}]},
        ),
    }
    for path, response in responses.items():
        assert response.status_code in (400, 413, 422), (path, response.status_code)
    assert generator.calls == []
    page = responses["page"].text  # a person sees a page that says what is wrong
    assert "<html" in page and "question" in page and str(MAX_QUESTION_CHARS) in page
    assert "string_too_long" in responses["api"].text  # APIs keep machine-readable errors
    assert str(MAX_QUESTION_CHARS) in responses["openai"].json()["error"]["message"]
    still_answers(client, generator)


def test_a_huge_body_is_refused_without_reading_it_all(
    client: TestClient, generator: FakeGenerator
) -> None:
    body = b'{"question": "' + b"a" * (8 * 1024 * 1024) + b'"}'
    response = client.post(
        "/api/v1/ask", content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code in (413, 422)
    assert generator.calls == []
    still_answers(client, generator)


# --- invalid UTF-8 and malformed bodies ----------------------------------------------------------
INVALID_UTF8 = (b"\xff\xfe", b"\xc3\x28", b"\xed\xa0\x80", b"caf\xe9", b"\x80abc", b"\xf8\x88")


@pytest.mark.parametrize("raw", INVALID_UTF8)
def test_invalid_utf8_gets_a_clear_refusal_or_a_safe_reading(
    client: TestClient, generator: FakeGenerator, raw: bytes
) -> None:
    quoted = "".join(f"%{b:02X}" for b in raw)
    responses = {
        "form body": client.post("/ask", content=b"question=" + raw, headers=FORM),
        "form body, escaped": client.post("/ask", content=f"question={quoted}", headers=FORM),
        "query": client.get(f"/ask/stream?q={quoted}"),
        "json": client.post(
            "/api/v1/ask",
            content=b'{"question": "' + raw + b'"}',
            headers={"Content-Type": "application/json"},
        ),
        "openai json": client.post(
            "/v1/chat/completions",
            content=b'{"model":"docent","messages":[{"role":"user","content":"' + raw + b'"}]}',
            headers={"Content-Type": "application/json"},
        ),
        "rename": client.post("/c/1/rename", content=b"title=" + raw, headers=FORM),
        "login": TestClient(client.app).post(
            "/login", content=b"username=" + raw + b"&password=x&csrf_token=x", headers=FORM
        ),
    }
    for path, response in responses.items():
        assert response.status_code < 500, (path, response.status_code, response.text[:300])
    # JSON must be UTF-8 (RFC 8259): bytes that are not are refused, not guessed at
    assert responses["json"].status_code in (400, 422)
    assert responses["openai json"].status_code == 400
    still_answers(client, generator)


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"{",
        b"[]",
        b'{"question": null}',
        b'{"question": 42}',
        b'{"question": "ok", "filters": {"documents": "not-a-list"}}',
        b'{"question": "ok", "conversation": [{"question": "x"}]}',
        b'{"question": "\\u0000"}',
        b'{"question": "ok", "filters": {"modified_since": "yesterday"}}',
        b'{"question": "' + b"[" * 5000 + b'"}',
        b"[" * 100_000,
    ],
)
def test_malformed_json_is_refused_with_a_reason(
    client: TestClient, generator: FakeGenerator, body: bytes
) -> None:
    response = client.post(
        "/api/v1/ask", content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code in (200, 400, 422), response.text[:300]
    if response.status_code != 200:
        assert response.json()["detail"]  # a reason, not an empty body
    still_answers(client, generator)


# --- script in questions, titles, model output ---------------------------------------------------
@pytest.mark.parametrize("payload", PAYLOADS)
def test_script_in_a_question_is_shown_as_text_everywhere(
    client: TestClient, generator: FakeGenerator, payload: str
) -> None:
    question = f"Remote days {payload}?"
    generator.enqueue("Three days [1].", "Three days [1].")
    pages = [
        client.post("/ask", data={"question": question}).text,  # the conversation page
        client.get("/ask/stream", params={"q": question}).text,
        client.post("/ask", data={"question": question}, headers={"HX-Request": "true"}).text,
        client.get("/").text,  # the sidebar lists the conversation by its question
    ]
    for page in pages:
        assert_inert(page, payload)


@pytest.mark.parametrize("payload", PAYLOADS)
def test_script_in_document_titles_and_file_names_is_shown_as_text(
    client: TestClient,
    services: Services,
    generator: FakeGenerator,
    tmp_path: Path,
    payload: str,
) -> None:
    folder = tmp_path / "hostile"
    folder.mkdir()
    name = re.sub(r"[/\\]", "_", payload) + ".md"
    doc = folder / name
    doc.write_text(f"# {payload} policy\n\nEmployees may park bicycles in the yard.\n")
    results = ingest_paths(
        [doc],
        embedder=services.embedder,
        store=services.store,
        catalog=services.catalog,
        options=IngestOptions(chunk_tokens=60, chunk_overlap=10),
    )
    assert [r.status for r in results] == ["new"]
    generator.enqueue("Bicycles go in the yard [1].", "Bicycles go in the yard [1].")
    question = "Where may employees park bicycles?"
    page = client.post("/ask", data={"question": question}).text
    assert "park bicycles" in page  # the passage is shown, with its title
    assert_inert(page, payload)
    stream = client.get("/ask/stream", params={"q": question}).text
    assert "event: source" in stream or "event: done" in stream
    assert_inert(stream, payload)


def test_script_in_model_output_streams_and_renders_inert(
    client: TestClient, generator: FakeGenerator
) -> None:
    reply = (
        " ".join(PAYLOADS) + " [1] <a href='javascript:alert(1)'>x</a> [link](javascript:alert(1))"
    )
    generator.enqueue(reply, reply)
    stream = client.get("/ask/stream", params={"q": "Remote days?"}).text
    page = client.post("/ask", data={"question": "Remote days?"}).text
    for text in (stream, page):
        for payload in PAYLOADS:
            assert_inert(text, payload)
        assert not re.search(r"<a\b[^>]*href\s*=\s*[\"']?\s*javascript:", text, re.IGNORECASE)


def assert_inert(html: str, payload: str) -> None:
    """The payload never appears as markup: no tag it opens, no attribute it injects."""
    if payload.startswith("javascript:"):
        assert not re.search(r"<a\b[^>]*href\s*=\s*[\"']?\s*javascript:", html, re.IGNORECASE)
        return
    assert payload not in html, f"{payload!r} reached the page as markup"
    tag = re.match(r'[">]*<(\w+)', payload)
    assert tag
    for handler in ("onerror=", "onload="):
        if handler in payload:
            assert not re.search(rf"<{tag.group(1)}[^>]*{handler}", html, re.IGNORECASE)


# --- property tests ------------------------------------------------------------------------------
TEXT = st.text(
    alphabet=st.characters(exclude_categories=["Cs"]),  # lone surrogates cannot be sent
    max_size=300,
)


@FUZZ
@given(question=TEXT, payload=st.sampled_from(PAYLOADS))
def test_any_question_text_is_answered_or_refused_cleanly(
    client: TestClient, question: str, payload: str
) -> None:
    text = question + payload
    for response in (
        client.post("/ask", data={"question": text}),
        client.get("/ask/stream", params={"q": text}),
        client.post("/api/v1/ask", json={"question": text}),
    ):
        assert response.status_code < 500, (response.status_code, response.text[:300])
        if response.headers.get("content-type", "").startswith(("text/html", "text/event")):
            assert_inert(response.text, payload)


@FUZZ
@given(raw=st.binary(max_size=400))
def test_any_bytes_as_a_body_are_refused_cleanly(client: TestClient, raw: bytes) -> None:
    for path, content_type in (
        ("/ask", FORM["Content-Type"]),
        ("/api/v1/ask", "application/json"),
        ("/v1/chat/completions", "application/json"),
        ("/messages/1/feedback", FORM["Content-Type"]),
        ("/c/1/rename", FORM["Content-Type"]),
    ):
        response = client.post(path, content=raw, headers={"Content-Type": content_type})
        assert response.status_code < 500, (path, response.status_code, response.text[:300])
    assert client.get("/healthz").status_code == 200


@FUZZ
@given(title=TEXT, comment=TEXT, payload=st.sampled_from(PAYLOADS))
def test_any_title_or_comment_is_stored_or_refused_cleanly(
    client: TestClient, generator: FakeGenerator, title: str, comment: str, payload: str
) -> None:
    generator.enqueue("Three days [1].")
    page = client.post("/ask", data={"question": "Remote days?"})
    conversation = re.search(r'name="conversation_id" value="(\d+)"', page.text)
    message = re.findall(r"/messages/(\d+)/feedback", page.text)
    assert conversation and message
    renamed = client.post(f"/c/{conversation.group(1)}/rename", data={"title": title + payload})
    rated = client.post(
        f"/messages/{message[-1]}/feedback", data={"rating": "down", "comment": comment + payload}
    )
    for response in (renamed, rated):
        assert response.status_code < 500, (response.status_code, response.text[:300])
        assert_inert(response.text, payload)
    for shown in (client.get("/"), client.get(f"/c/{conversation.group(1)}")):
        assert shown.status_code == 200
        assert_inert(shown.text, payload)
