"""Driving the chat as the page does: htmx posts, the answer's event stream, the fragments."""

from __future__ import annotations

import re
from dataclasses import dataclass

from fastapi.testclient import TestClient

HTMX = {"HX-Request": "true"}


@dataclass(frozen=True)
class Streamed:
    fragment: str  # what the htmx post returned (the streaming article, out-of-band swaps)
    events: str  # the whole event stream
    conversation_id: int

    @property
    def done(self) -> str:
        """The `done` event's HTML: the rendered answer (or why there is none)."""
        return self.events.split("event: done\n")[1]

    @property
    def message_id(self) -> int:
        return int(re.findall(r'id="m(\d+)"', self.done)[0])


def ask_streaming(
    client: TestClient, question: str, conversation_id: int | None = None
) -> Streamed:
    """Post the question as htmx does, then read its event stream to the end."""
    data = {"question": question, "conversation_id": str(conversation_id or "")}
    response = client.post("/ask", data=data, headers=HTMX)
    assert response.status_code == 200, response.text
    return _stream(client, response.text, response.headers["HX-Push-Url"])


def regenerate_streaming(client: TestClient, message_id: int) -> Streamed:
    response = client.post(f"/messages/{message_id}/regenerate", headers=HTMX)
    assert response.status_code == 200, response.text
    return _stream(client, response.text, response.headers["HX-Push-Url"])


def ask_plain(client: TestClient, question: str, conversation_id: int | None = None) -> str:
    """Post the form without JavaScript; returns the conversation page it ends on."""
    data = {"question": question, "conversation_id": str(conversation_id or "")}
    response = client.post("/ask", data=data)
    assert response.status_code == 200, response.text
    return response.text


def key_of(fragment: str) -> str:
    return fragment.split("/ask/stream?key=")[1].split('"')[0]


def conversation_ids(page: str) -> list[int]:
    """The conversations listed in the page's sidebar, in order."""
    return [int(n) for n in re.findall(r'<li id="conv-(\d+)"', page)]


def _stream(client: TestClient, fragment: str, pushed_url: str) -> Streamed:
    with client.stream("GET", "/ask/stream", params={"key": key_of(fragment)}) as response:
        assert response.status_code == 200
        events = "".join(response.iter_text())
    return Streamed(fragment, events, int(pushed_url.rsplit("/", 1)[1]))
