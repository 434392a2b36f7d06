"""A streamed response that closes its source as soon as the client goes away.

Starlette stops sending when the client disconnects but leaves the body iterator to the
garbage collector. An answer stream holds the model (and the next request's turn), so here the
iterator is closed at once: its `finally` runs, generation stops and the model is handed on.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Mapping

from starlette.concurrency import run_in_threadpool
from starlette.responses import StreamingResponse
from starlette.types import Send

_END = object()


class ClosingStreamingResponse(StreamingResponse):
    """A StreamingResponse over a sync iterator, closed when sending ends for any reason."""

    def __init__(
        self,
        content: Iterator[str],
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


async def _in_threadpool(items: Iterator[str]) -> AsyncIterator[str]:
    """Each item is produced in a worker thread (generation blocks), one at a time."""
    while True:
        item = await run_in_threadpool(next, items, _END)
        if item is _END:
            return
        yield item  # type: ignore[misc]
