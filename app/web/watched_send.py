"""An ASGI `send` that remembers whether the response has begun: a middleware that answers an
error itself may do so only while the app has not started a response of its own."""

from __future__ import annotations

from starlette.types import Message, Send


class WatchedSend:
    def __init__(self, send: Send) -> None:
        self.send = send
        self.started = False

    async def __call__(self, message: Message) -> None:
        self.started = self.started or message["type"] == "http.response.start"
        await self.send(message)
