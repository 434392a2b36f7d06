"""Fair turns: how many answers one user may have waiting for the model or being written.

The model answers one question at a time (`app.generation.generator.FairQueue`, first come
first served) and every answer waiting or streaming holds a worker thread, so one user opening
dozens of streams would take the model and the threads from everyone. Each way of asking
(`/ask`, `/ask/stream`, `/api/v1/ask`, `/v1/chat/completions`) takes one of the user's
`DOCENT_MAX_QUEUED_PER_USER` slots for as long as its answer is queued or written, and is
answered `429` with the reason and `Retry-After` when none is free.

Waiting in line holds no thread (`app.web.streaming`: `Parked`, `finished`).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

from fastapi import HTTPException, Request

from app.web.streaming import Parked

RETRY_AFTER_SECONDS = 10


class InFlight:
    """Each user's answers queued or being written, at most `cap` at a time."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self._lock = threading.Lock()
        self._counts: dict[int, int] = {}

    def take(self, user_id: int) -> Slot | None:
        """A slot for one more answer, or None when the user has `cap` already."""
        with self._lock:
            if self._counts.get(user_id, 0) >= self.cap:
                return None
            self._counts[user_id] = self._counts.get(user_id, 0) + 1
        return Slot(self, user_id)

    def full(self, user_id: int) -> bool:
        with self._lock:
            return self._counts.get(user_id, 0) >= self.cap

    def count(self, user_id: int) -> int:
        with self._lock:
            return self._counts.get(user_id, 0)

    def _release(self, user_id: int) -> None:
        with self._lock:
            left = self._counts.get(user_id, 0) - 1
            if left > 0:
                self._counts[user_id] = left
            else:
                self._counts.pop(user_id, None)

    @property
    def reason(self) -> str:
        many = "question" if self.cap == 1 else f"{self.cap} questions"
        return (
            f"You already have {many} waiting for the model or being answered; "
            "let one finish (or stop it), then ask again."
        )


class Slot:
    """One answer's place among its user's; released once (a `with` block, or `holding`)."""

    def __init__(self, owner: InFlight, user_id: int) -> None:
        self._owner, self._user_id = owner, user_id
        self._held = True
        self._lock = threading.Lock()

    def release(self) -> None:
        with self._lock:
            held, self._held = self._held, False
        if held:
            self._owner._release(self._user_id)

    def holding(self, items: Iterator[str | Parked]) -> Iterator[str | Parked]:
        """`items` (a response stream), releasing this slot when it ends or is closed."""
        return _Holding(items, self)

    def __enter__(self) -> Slot:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    def __del__(self) -> None:  # a response never sent still gives its slot back
        self.release()


class _Holding(Iterator[str | Parked]):
    def __init__(self, items: Iterator[str | Parked], slot: Slot) -> None:
        self._items, self._slot = items, slot

    def __next__(self) -> str | Parked:
        try:
            return next(self._items)
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        try:
            close = getattr(self._items, "close", None)
            if close is not None:
                close()
        finally:
            self._slot.release()


def in_flight(request: Request) -> InFlight:
    found: InFlight = request.app.state.in_flight
    return found


def too_many(request: Request) -> HTTPException:
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
    return HTTPException(429, in_flight(request).reason, headers=headers)


def take_slot(request: Request, user_id: int) -> Slot:
    """A slot for one more of the user's answers, or `429` with the reason."""
    slot = in_flight(request).take(user_id)
    if slot is None:
        raise too_many(request)
    return slot
