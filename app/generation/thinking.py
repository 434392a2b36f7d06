"""Keep a reasoning model's <think>…</think> out of the answer text, even mid-stream."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

OPEN, CLOSE = "<think>", "</think>"


@dataclass
class ThinkingFilter:
    """Feed streamed pieces; get back only the answer's text. The reasoning is kept aside."""

    reasoning: list[str] = field(default_factory=list)
    _buffer: str = ""
    _inside: bool = False

    def feed(self, piece: str) -> str:
        self._buffer += piece
        out: list[str] = []
        while True:
            tag = CLOSE if self._inside else OPEN
            at = self._buffer.find(tag)
            if at < 0:
                keep = _partial_tag_length(self._buffer, tag)
                ready, self._buffer = (
                    self._buffer[: len(self._buffer) - keep],
                    self._buffer[len(self._buffer) - keep :],
                )
                self._emit(ready, out)
                return "".join(out)
            self._emit(self._buffer[:at], out)
            self._buffer = self._buffer[at + len(tag) :]
            self._inside = not self._inside

    def flush(self) -> str:
        rest, self._buffer = self._buffer, ""
        out: list[str] = []
        self._emit(rest, out)
        return "".join(out)

    def _emit(self, text: str, out: list[str]) -> None:
        if text:
            (self.reasoning if self._inside else out).append(text)


def _partial_tag_length(text: str, tag: str) -> int:
    """How many trailing characters of `text` could be the start of `tag`."""
    for size in range(min(len(tag) - 1, len(text)), 0, -1):
        if tag.startswith(text[-size:]):
            return size
    return 0


def without_thinking(pieces: Iterable[str], thinking: ThinkingFilter) -> Iterator[str]:
    for piece in pieces:
        if text := thinking.feed(piece):
            yield text
    if text := thinking.flush():
        yield text
