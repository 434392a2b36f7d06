"""Questions posted and waiting for their event stream (the stream is a separate GET)."""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field

from app.followup import Turn

TTL_SECONDS = 600.0
MAX_PENDING = 1000


@dataclass(frozen=True)
class PendingQuestion:
    question: str
    conversation: tuple[Turn, ...]
    created: float = field(default_factory=time.monotonic)


class PendingQuestions:
    """Single-use, short-lived slots keyed by unguessable ids."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: dict[str, PendingQuestion] = {}

    def put(self, question: str, conversation: tuple[Turn, ...]) -> str:
        key = secrets.token_urlsafe(16)
        with self._lock:
            self._expire()
            if len(self._items) >= MAX_PENDING:
                self._items.pop(next(iter(self._items)))
            self._items[key] = PendingQuestion(question, conversation)
        return key

    def take(self, key: str) -> PendingQuestion | None:
        with self._lock:
            self._expire()
            return self._items.pop(key, None)

    def _expire(self) -> None:
        now = time.monotonic()
        for key in [k for k, v in self._items.items() if now - v.created > TTL_SECONDS]:
            del self._items[key]
