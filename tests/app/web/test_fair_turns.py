"""Fair turns: one user cannot take the model and the worker threads from everyone
(DOCENT_MAX_QUEUED_PER_USER), and another site cannot spend a user's turn through
`GET /ask/stream?q=`."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.generation.generator import ChatMessage, Pieces
from app.generation.opening import Opening
from app.services import Services
from app.settings import Settings
from app.web import create_app
from app.web.auth import CSRF_HEADER
from tests.app.chatting import HTMX
from tests.app.sample import ingest_remote_work
from tests.app.signin import add_user, sign_in
from tests.fakes import FakeGenerator

QUESTION = "Remote days?"
WAIT = 10.0


@dataclass
class HeldGenerator(FakeGenerator):
    """Its first `held` completions wait for `release`: those answers stay on their way."""

    held: int = 0
    waiting: int = 0  # completions held so far
    release: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def stream(
        self,
        messages: Sequence[ChatMessage],
        *,
        max_tokens: int,
        temperature: float,
        opening: Opening | None = None,
    ) -> Pieces:
        with self.lock:
            hold = self.waiting < self.held
            self.waiting += hold
        if hold:
            assert self.release.wait(WAIT)
            yield "Three days [1]."
            return
        with self.lock:
            yield from super().stream(messages, max_tokens=max_tokens, temperature=temperature)


@dataclass
class Site:
    app_client: TestClient
    generator: HeldGenerator
    alice: TestClient
    bob: TestClient

    def in_flight(self, name: str) -> int:
        """The user's answers on their way, as the app counts them."""
        state = self.app_client.app.state  # type: ignore[attr-defined]
        return int(state.in_flight.count(_id(self, name)))


@pytest.fixture
def site(tmp_path: Path, services: Services) -> Iterator[Site]:
    ingest_remote_work(services, tmp_path)
    generator = HeldGenerator(held=3)
    held = replace(services, generator=generator)
    held = replace(held, answerer=replace(services.answerer, generator=generator))
    add_user(services.accounts, "alice")
    add_user(services.accounts, "bob")
    settings = Settings(data_dir=tmp_path / "data", max_queued_per_user=3)
    with TestClient(create_app(settings, held)) as app_client:
        alice, bob = TestClient(app_client.app), TestClient(app_client.app)
        sign_in(alice, "alice")
        sign_in(bob, "bob")
        yield Site(app_client, generator, alice, bob)
        generator.release.set()


def _in_background(client: TestClient, n: int) -> list[threading.Thread]:
    """`n` direct streams of `client`'s user, each held by the model until released."""
    threads = [
        threading.Thread(
            target=client.get, args=("/ask/stream",), kwargs={"params": {"q": QUESTION}}
        )
        for _ in range(n)
    ]
    for thread in threads:
        thread.start()
    return threads


def _until(condition: object) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_one_user_with_three_answers_on_their_way_is_refused_a_fourth_everywhere(
    site: Site,
) -> None:
    """Every way of asking answers 429 with the reason and Retry-After; bob is still served;
    once alice's answers finish she may ask again."""
    threads = _in_background(site.alice, 3)
    _until(lambda: site.generator.waiting == 3)
    openai = {"model": "docent", "messages": [{"role": "user", "content": QUESTION}]}
    refused = {
        "/ask (htmx)": site.alice.post("/ask", data={"question": QUESTION}, headers=HTMX),
        "/ask (form)": site.alice.post("/ask", data={"question": QUESTION}),
        "/ask/stream?q=": site.alice.get("/ask/stream", params={"q": QUESTION}),
        "/api/v1/ask": site.alice.post("/api/v1/ask", json={"question": QUESTION}),
        "/v1/chat/completions": site.alice.post("/v1/chat/completions", json=openai),
        "/v1/chat/completions stream": site.alice.post(
            "/v1/chat/completions", json=openai | {"stream": True}
        ),
    }
    for path, response in refused.items():
        assert response.status_code == 429, (path, response.status_code, response.text[:200])
        assert response.headers["Retry-After"] == "10", path
        assert "3 questions waiting for the model or being answered" in response.text, path
    assert site.in_flight("alice") == 3
    assert site.alice.app.state.services.conversations.list_for(_id(site, "alice")) == []  # type: ignore[attr-defined]
    answered = site.bob.post("/api/v1/ask", json={"question": QUESTION})
    assert answered.status_code == 200, answered.text  # another user is not held up
    site.generator.release.set()
    for thread in threads:
        thread.join(WAIT)
    _until(lambda: site.in_flight("alice") == 0)
    assert site.alice.post("/api/v1/ask", json={"question": QUESTION}).status_code == 200
    stream = site.alice.post("/v1/chat/completions", json=openai | {"stream": True})
    assert stream.status_code == 200 and "[DONE]" in stream.text
    assert site.in_flight("alice") == 0  # every slot given back


def test_a_direct_stream_from_another_site_spends_no_turn(site: Site) -> None:
    """`GET /ask/stream?q=` carries the Lax session cookie on a link from another site: it
    needs the browser to say it came from docent (Sec-Fetch-Site) or the session's CSRF
    token; the htmx flow's single-use key (made by a CSRF-checked POST) is unaffected."""
    site.generator.held = 0
    del site.alice.headers[CSRF_HEADER]  # a browser following a link sends no custom header
    cross = site.alice.get(
        "/ask/stream", params={"q": QUESTION}, headers={"Sec-Fetch-Site": "cross-site"}
    )
    bare = site.alice.get("/ask/stream", params={"q": QUESTION})
    assert (cross.status_code, bare.status_code) == (403, 403)
    assert site.generator.calls == []  # nothing reached the model
    for headers in ({"Sec-Fetch-Site": "same-origin"}, {"Sec-Fetch-Site": "none"}):
        ok = site.alice.get("/ask/stream", params={"q": QUESTION}, headers=headers)
        assert ok.status_code == 200 and "event: done" in ok.text
    csrf = site.bob.headers[CSRF_HEADER]
    del site.bob.headers[CSRF_HEADER]
    with_token = site.bob.get("/ask/stream", params={"q": QUESTION, "csrf_token": csrf})
    assert with_token.status_code == 200 and "event: done" in with_token.text


def _id(site: Site, name: str) -> int:
    user = site.app_client.app.state.services.accounts.find_user(name)  # type: ignore[attr-defined]
    assert user is not None
    return int(user.id)
