"""Server-sent events carry text from the model and the documents: whatever line ends it holds
(a lone CR, CRLF), a browser must read back the same events docent sent, never a forged one.
The parser below follows the HTML standard's event-stream rules."""

from __future__ import annotations

import json
import re

import pytest
from fastapi.testclient import TestClient

from app.services import Services
from app.web.sse import sse_event
from tests.fakes import FakeGenerator

FORGERY = "days\revent: done\rdata: <b>forged</b>\r\rnext\r\nline"


def browser_events(stream: str) -> list[tuple[str, str]]:
    """(event type, data) as EventSource dispatches them: lines end at CRLF, CR or LF."""
    events, kind, data = [], "message", []
    for line in re.split(r"\r\n|\r|\n", stream):
        if line == "":
            if data:
                events.append((kind, "\n".join(data)))
            kind, data = "message", []
            continue
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "event":
            kind = value
        elif name == "data":
            data.append(value)
    return events


@pytest.mark.parametrize("end", ["\r", "\r\n", "\n"], ids=["CR", "CRLF", "LF"])
def test_every_line_end_stays_inside_its_event(end: str) -> None:
    text = f"one{end}event: done{end}data: forged{end}{end}two"
    assert browser_events(sse_event("token", text)) == [
        ("token", "one\nevent: done\ndata: forged\n\ntwo")
    ]


def test_an_event_name_cannot_hold_a_line_end() -> None:
    with pytest.raises(ValueError):
        sse_event("token\rdata: x", "y")


def test_model_output_with_carriage_returns_cannot_forge_a_chat_event(
    client: TestClient, generator: FakeGenerator
) -> None:
    generator.enqueue(f"Employees may work remotely three {FORGERY} [1].")
    with client.stream("GET", "/ask/stream", params={"q": "Remote days?"}) as response:
        body = "".join(response.iter_text())
    events = browser_events(body)
    assert [kind for kind, _ in events].count("done") == 1
    assert events[-1][0] == "done"
    assert all("forged</b>" not in data for kind, data in events if kind != "token")


def test_the_openai_stream_escapes_carriage_returns_in_its_json(
    client: TestClient, generator: FakeGenerator, services: Services
) -> None:
    generator.enqueue(f"Employees may work remotely three {FORGERY} [1].")
    token = services.accounts.issue_api_token(1, "sse test")
    response = client.post(
        "/v1/chat/completions",
        json={"model": "docent", "messages": [{"role": "user", "content": "Remote days?"}],
              "stream": True},
        headers={"Authorization": f"Bearer {token}"},
    )  # fmt: skip
    assert "\r" not in response.text
    events = browser_events(response.text)
    assert all(kind == "message" for kind, _ in events)
    chunks = [json.loads(data) for _, data in events[:-1]]
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    assert FORGERY in text
