"""Answers waiting in line for the model hold no worker thread: each stream (chat, /v1) and
each whole answer (/api/v1/ask, /v1) waits in the event loop until the line moves, so many
waiting answers cannot use up the thread pool that every request needs."""

from __future__ import annotations

import sys
import threading
import time
from dataclasses import replace
from pathlib import Path
from types import FrameType
from typing import Any

from fastapi.testclient import TestClient

from app.generation.generator import FairQueue
from app.services import Services
from app.settings import Settings
from app.web import create_app
from tests.app.sample import ingest_remote_work
from tests.app.signin import add_user, sign_in
from tests.fakes import FakeGenerator

QUESTION = "How many days a week can I work from home?"
REPLY = "You may work remotely three days per week [1]."
WAIT = 15.0


def _inside(frame: FrameType | None, name: str) -> bool:
    while frame is not None:
        if frame.f_code.co_name == name:
            return True
        frame = frame.f_back
    return False


def _threads_waiting_in_line() -> int:
    """Threads blocked in the model's line right now (`FairQueue.next_place`)."""
    return sum(_inside(frame, "next_place") for frame in sys._current_frames().values())


def _until(condition: Any) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_answers_waiting_in_line_hold_no_thread(tmp_path: Path, services: Services) -> None:
    ingest_remote_work(services, tmp_path)
    line = FairQueue()
    generator = FakeGenerator(queue=line, replies=[REPLY] * 6)
    lined = replace(services, generator=generator)
    lined = replace(lined, answerer=replace(services.answerer, generator=generator))
    alice = add_user(services.accounts, "alice")
    bearer = {"Authorization": f"Bearer {services.accounts.issue_api_token(alice.id, 'x')}"}
    settings = Settings(data_dir=tmp_path / "data", max_queued_per_user=10)
    openai = {"model": "docent", "messages": [{"role": "user", "content": QUESTION}]}
    same_site = {"Sec-Fetch-Site": "same-origin"}
    with TestClient(create_app(settings, lined)) as client:
        sign_in(client, "alice")
        asks: list[tuple[str, dict[str, Any]]] = [
            ("GET /ask/stream", {"params": {"q": QUESTION}, "headers": same_site}),
            ("POST /ask", {"data": {"question": QUESTION}}),  # no JavaScript: a whole page
            ("POST /api/v1/ask", {"json": {"question": QUESTION}, "headers": bearer}),
            ("POST /v1/chat/completions", {"json": openai, "headers": bearer}),
            ("POST /v1/chat/completions", {"json": openai | {"stream": True}, "headers": bearer}),
        ]
        holder = line.join()  # the model is busy with someone else's answer
        statuses: dict[int, int] = {}

        def ask(n: int, route: str, kwargs: dict[str, Any]) -> None:
            method, path = route.split()
            statuses[n] = client.request(method, path, **kwargs).status_code

        threads = [
            threading.Thread(target=ask, args=(n, route, kwargs))
            for n, (route, kwargs) in enumerate(asks)
        ]
        for thread in threads:
            thread.start()
        try:
            _until(lambda: len(line) == 1 + len(asks))  # all of them wait in line
            time.sleep(0.3)
            waiting = _threads_waiting_in_line()
        finally:
            holder.leave()
            for thread in threads:
                thread.join(WAIT)
    assert waiting == 0
    assert statuses == dict.fromkeys(range(len(asks)), 200)  # the form post: redirected, shown
    assert len(generator.calls) == len(asks)  # each answered once its turn came
