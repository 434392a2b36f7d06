"""Questions posted and waiting for their event stream (the stream is a separate GET)."""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field

TTL_SECONDS = 600.0
MAX_PENDING = 1000


@dataclass(frozen=True)
class PendingQuestion:
    question: str
    user_id: int  # only this user's stream may take it
    conversation_id: int  # where the answer is stored; its earlier answers are the context
    replaces: int | None = None  # regenerating: the message the new answer takes the place of
    created: float = field(default_factory=time.monotonic)


class PendingQuestions:
    """Single-use, short-lived slots keyed by unguessable ids."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: dict[str, PendingQuestion] = {}

    def put(self, item: PendingQuestion) -> str:
        key = secrets.token_urlsafe(16)
        with self._lock:
            self._expire()
            if len(self._items) >= MAX_PENDING:
                self._items.pop(next(iter(self._items)))
            self._items[key] = item
        return key

    def take(self, key: str, user_id: int) -> PendingQuestion | None:
        """The question under `key` if it is `user_id`'s (it is gone afterwards either way)."""
        with self._lock:
            self._expire()
            item = self._items.pop(key, None)
        return item if item is not None and item.user_id == user_id else None

    def _expire(self) -> None:
        now = time.monotonic()
        for key in [k for k, v in self._items.items() if now - v.created > TTL_SECONDS]:
            del self._items[key]
