"""A fake model that reads its prompts: it asks about a passage's first words, and answers from
the numbered source that shares the most words with the question, three at least (or says
not found)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from app.generation.generator import ChatMessage, Pieces
from app.generation.opening import Opening
from app.generation.prompting import NOT_FOUND
from tests.fakes import FakeGenerator

_SOURCE = re.compile(r'<source id="(\d+)"[^>]*>\n(.*?)</source>', re.S)
_WORD = re.compile(r"\w+")


class ReadingGenerator(FakeGenerator):
    """`questions`: replies to question prompts in turn (default: one about the passage's first
    six words); answers quote the best-matching source's longest line with its marker."""

    def __init__(self, questions: Sequence[str] = ()) -> None:
        super().__init__(model_id="reading-model")
        self.questions = list(questions)

    def stream(
        self,
        messages: Sequence[ChatMessage],
        *,
        max_tokens: int,
        temperature: float,
        opening: Opening | None = None,
    ) -> Pieces:
        prompt = messages[-1].content
        if "Write one question" in prompt:
            reply = self.questions.pop(0) if self.questions else _question(prompt)
        else:
            reply = _answer(prompt)
        self.enqueue(reply)
        return super().stream(messages, max_tokens=max_tokens, temperature=temperature)


def _question(prompt: str) -> str:
    quoted = [line[2:] for line in prompt.splitlines() if line.startswith("> ")]
    words = " ".join(quoted).split()[:6]
    return f"What do the documents say about {' '.join(words)}?"


def _answer(prompt: str) -> str:
    question = prompt.rsplit("Question:", 1)[1].split("\n", 1)[0]
    asked = set(_WORD.findall(question.lower()))
    best, number, line = 2, 0, ""  # three words in common, at least
    for found in _SOURCE.finditer(prompt):
        lines = [raw[2:] for raw in found.group(2).splitlines() if raw.startswith("> ")]
        shared = len(asked & set(_WORD.findall(" ".join(lines).lower())))
        if shared > best:
            best, number, line = shared, int(found.group(1)), max(lines, key=len)
    return f"{line} [{number}]" if number else NOT_FOUND
