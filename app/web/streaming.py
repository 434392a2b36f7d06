"""A streamed response that closes its source as soon as the client goes away, and waits in
the model's line without holding a thread.

Starlette stops sending when the client disconnects but leaves the body iterator to the
garbage collector. An answer stream holds the model (and the next request's turn), so here the
iterator is closed at once: its `finally` runs, generation stops and the model is handed on.

Each item is made in a worker thread (retrieval and generation block). While an answer waits
in line for the model, its stream yields `Parked`: nothing is sent, and the next item is asked
for only once the line has moved, checked from the event loop, so a hundred waiting answers
hold no thread (`finished` does the same for answers returned whole).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from dataclasses import dataclass

import anyio
from starlette.concurrency import run_in_threadpool
from starlette.responses import StreamingResponse
from starlette.types import Send

from app.answering.answer import Answer, Done, Events, Failed, Queued
from app.generation.generator import GenerationFailed, ModelBusy

_END = object()
PARK_POLL_SECONDS = 0.1  # how often a parked stream looks whether the line moved


@dataclass(frozen=True)
class Parked:
    """Not sent: the stream waits in line; ask for the next item once `moved()` is true."""

    moved: Callable[[], bool]


async def _until(moved: Callable[[], bool]) -> None:
    while not moved():
        await anyio.sleep(PARK_POLL_SECONDS)


class ClosingStreamingResponse(StreamingResponse):
    """A StreamingResponse over a sync iterator, closed when sending ends for any reason."""

    def __init__(
        self,
        content: Iterator[str | Parked],
        media_type: str = "text/event-stream",
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self._source = content
        super().__init__(_in_threadpool(content), media_type=media_type, headers=headers)

    async def stream_response(self, send: Send) -> None:
        try:
            await super().stream_response(send)
        finally:
            close = getattr(self._source, "close", None)
            if close is not None:
                close()


async def _in_threadpool(items: Iterator[str | Parked]) -> AsyncIterator[str]:
    """Each item is produced in a worker thread (generation blocks), one at a time; a parked
    stream waits here, in the event loop."""
    while True:
        item = await run_in_threadpool(next, items, _END)
        if item is _END:
            return
        if isinstance(item, Parked):
            await _until(item.moved)
            continue
        yield item  # type: ignore[misc]


async def finished(events: Events) -> Answer:
    """The answer `events` end with, each event made in a worker thread and the waits in line
    spent in the event loop. Raises what `Answerer.answer` raises."""
    try:
        while True:
            event = await run_in_threadpool(next, events, None)
            if event is None:
                raise RuntimeError("answer stream ended without an answer")
            if isinstance(event, Queued):
                await _until(event.moved)
            elif isinstance(event, Done):
                return event.answer
            elif isinstance(event, Failed):
                raise (ModelBusy if event.busy else GenerationFailed)(event.message)
    finally:
        events.close()
