"""Questions posted and waiting for their event stream (the stream is a separate GET).

Each user keeps at most `MAX_PENDING_PER_USER`: one more evicts that user's own oldest, never
another user's. The whole store keeps `MAX_PENDING` (oldest first out), which one user alone can
no longer fill.
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field

TTL_SECONDS = 600.0
MAX_PENDING = 1000
MAX_PENDING_PER_USER = 20  # far above DOCENT_MAX_QUEUED_PER_USER: only runaway posting hits it


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
            own = [k for k, v in self._items.items() if v.user_id == item.user_id]
            for old in own[: max(0, len(own) - MAX_PENDING_PER_USER + 1)]:
                del self._items[old]  # the user's own oldest (dicts keep insertion order)
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
