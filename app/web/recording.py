"""Answers given through the APIs are kept like the chat page's, each in a conversation of its
own that the chat page does not list, so usage figures and feedback analytics count every
surface. A failure to keep one is logged; the caller still gets its answer."""

from __future__ import annotations

import logging
from contextlib import closing

from app.accounts import User
from app.answering.answer import Answer, Done, Events
from app.conversations.store import Surface
from app.services import Services

log = logging.getLogger(__name__)


def keep(services: Services, user: User, answer: Answer, surface: Surface) -> None:
    try:
        services.conversations.record_elsewhere(user.id, answer, surface)
    except Exception:  # the answer was given; losing its record must not lose the answer
        log.exception("could not record an answer given through %s", surface)


def kept(events: Events, services: Services, user: User, surface: Surface) -> Events:
    """`events`, the finished answer recorded as it goes by (closing this closes them)."""
    with closing(events):
        for event in events:
            if isinstance(event, Done):
                keep(services, user, event.answer, surface)
            yield event
