"""Predictable stand-ins for the slow parts. They record their calls; none accepts anything."""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL.Image import Image

from app.generation.generator import ChatMessage, FairQueue, GenerationFailed, Pieces
from app.generation.opening import Opening, OpeningCheck
from ingest.ocr import OcrLine, OcrOptions

_WORD = re.compile(r"\w+")


class FakeEmbedder:
    """Bag-of-words vectors (each word hashed to a bucket): similar texts score high."""

    def __init__(self, dimension: int = 64, max_tokens: int = 254, name: str = "fake-bow") -> None:
        self.name = name
        self.dimension = dimension
        self.max_tokens = max_tokens
        self.batches: list[list[str]] = []

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        self.batches.append(list(texts))
        return [self._vector(text) for text in texts]

    def count_tokens(self, text: str) -> int:
        return len(_WORD.findall(text))

    def _vector(self, text: str) -> list[float]:
        vector = [0.0] * self.dimension
        for word in _WORD.findall(text.lower()):
            bucket = int(hashlib.md5(word.encode()).hexdigest(), 16) % self.dimension
            vector[bucket] += 1.0
        norm = math.sqrt(sum(v * v for v in vector)) or 1.0
        return [v / norm for v in vector]

    @property
    def embedded_texts(self) -> list[str]:
        return [text for batch in self.batches for text in batch]


@dataclass
class FakeGenerator:
    """Replies with queued answers (or a default), streamed word by word; records prompts,
    how many words each call handed out, whether it ran to its end, and overlapping calls.
    Give it a `queue` to make requests take turns, as on one llama.cpp context."""

    model_id: str = "fake-model"
    adapter: str = ""
    context_length: int = 4096
    default_reply: str = "I could not find the answer in the knowledge base."
    replies: list[str] = field(default_factory=list)
    calls: list[list[ChatMessage]] = field(default_factory=list)
    openings: list[Opening | None] = field(default_factory=list)  # each call's `opening`
    doubt: float | None = None  # the opening's probability as the first token, if weighed
    last_opening: OpeningCheck | None = None  # as the in-process model reports it
    queue: FairQueue | None = None
    yielded: list[int] = field(default_factory=list)  # words handed out, per call
    finished: list[bool] = field(default_factory=list)  # False: closed before its last word
    running: int = 0
    most_running: int = 0  # completions that were running at the same time, at most

    def enqueue(self, *replies: str) -> None:
        self.replies.extend(replies)

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    def stream(
        self,
        messages: Sequence[ChatMessage],
        *,
        max_tokens: int,
        temperature: float,
        opening: Opening | None = None,
    ) -> Pieces:
        self.calls.append(list(messages))
        self.openings.append(opening)
        call = len(self.calls) - 1
        self.yielded.append(0)
        self.finished.append(False)
        reply = self.replies.pop(0) if self.replies else self.default_reply
        self.last_opening = None
        if opening is not None and self.doubt is not None:
            # the opening's first token against three others sharing the rest of the odds
            check = OpeningCheck(token=0, floor=opening.floor, prompt_length=1)
            rest = (1 - self.doubt) / 3
            check([0], np.log(np.array([self.doubt, rest, rest, rest])))
            self.last_opening = check
            reply = reply if check.ruled_out else opening.text
        words = reply.split(" ")[:max_tokens]
        self.running += 1
        self.most_running = max(self.most_running, self.running)
        try:
            for i, word in enumerate(words):
                self.yielded[call] += 1
                yield word if i == 0 else " " + word
            self.finished[call] = True
        finally:
            self.running -= 1


UNREACHABLE = "The model server at http://127.0.0.1:9 cannot be reached."


class UnreachableGenerator(FakeGenerator):
    """A model server that cannot be reached: every completion fails as OpenAIGenerator's do
    (recorded in `calls` first)."""

    def stream(
        self,
        messages: Sequence[ChatMessage],
        *,
        max_tokens: int,
        temperature: float,
        opening: Opening | None = None,
    ) -> Pieces:
        self.calls.append(list(messages))
        raise GenerationFailed(UNREACHABLE)
        yield ""  # pragma: no cover - makes this a generator


class FakeReranker:
    """Scores a text by how many distinct words of the query it contains; records each call."""

    def __init__(self, name: str = "fake-overlap") -> None:
        self.name = name
        self.calls: list[tuple[str, list[str]]] = []

    def score(self, query: str, texts: Sequence[str]) -> list[float]:
        self.calls.append((query, list(texts)))
        asked = set(_WORD.findall(query.lower()))
        return [float(len(asked & set(_WORD.findall(text.lower())))) for text in texts]


@dataclass
class SwitchingGenerator(FakeGenerator):
    """A fake that can change adapters as the in-process model does; records each switch and
    whether a turn on its queue was held meanwhile."""

    adapter_path: Path | None = None
    switches: list[tuple[Path | None, bool]] = field(default_factory=list)

    def use_adapter(self, path: Path | None, scale: float | None = None) -> None:
        held = self.queue is not None and len(self.queue) > 0
        self.switches.append((path, held))
        self.adapter_path, self.adapter = path, path.name if path else ""


@dataclass(eq=False)  # hashed by identity: it travels inside OcrOptions
class FakeOcr:
    """An OCR engine that reads queued pages: each picture it is given gets the next queued
    list of lines (none left: a picture with no text). It records each picture's size, and is
    its own factory (`OcrOptions(engine=fake)`)."""

    pages: list[list[OcrLine]] = field(default_factory=list)
    name: str = "fake-ocr"
    seen: list[tuple[int, int]] = field(default_factory=list)

    def __call__(self, options: OcrOptions) -> FakeOcr:
        return self

    def read(self, image: Image) -> list[OcrLine]:
        self.seen.append(image.size)
        return self.pages.pop(0) if self.pages else []


def ocr_lines(*texts: str, top: float = 0.1, confidence: float = 0.95) -> list[OcrLine]:
    """Lines stacked down a page, one line height apart ("" leaves a blank line)."""
    height = 0.04
    return [
        OcrLine(
            text,
            (0.1, top + row * 1.5 * height, 0.8, top + row * 1.5 * height + height),
            confidence,
        )
        for row, text in enumerate(texts)
        if text
    ]
