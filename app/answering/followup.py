"""Follow-up questions ("and for contractors?") become standalone queries, only when needed."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from app.generation.generator import ChatMessage, Generator
from app.generation.prompting import Prompts
from ingest.sparse import terms

MAX_TURNS = 3
_OPENERS = re.compile(
    r"^(and|but|or|also|so|then|what about|how about|same for|what if|and if|and for|"
    r"what else|why not|is that|does that|is it|are they)\b",
    re.IGNORECASE,
)
_BACK_REFERENCES = re.compile(
    r"\b(it|its|they|them|their|that|this|those|these|there|he|she|him|her|one|ones)\b",
    re.IGNORECASE,
)
MIN_STANDALONE_TERMS = 3


@dataclass(frozen=True)
class Turn:
    question: str
    answer: str


def needs_context(question: str, conversation: Sequence[Turn]) -> bool:
    """The cheap check: does this question lean on what was said before?"""
    if not conversation:
        return False
    text = question.strip()
    return bool(
        _OPENERS.match(text)
        or _BACK_REFERENCES.search(text)
        or len(terms(text)) < MIN_STANDALONE_TERMS
    )


def condense(
    question: str, conversation: Sequence[Turn], generator: Generator, prompts: Prompts
) -> str:
    """A standalone question from the model; falls back to joining the turns if it fails."""
    recent = list(conversation)[-MAX_TURNS:]
    prompt = prompts.condense(question, recent)
    reply = "".join(generator.stream([ChatMessage("user", prompt)], max_tokens=64, temperature=0.0))
    lines = [line.strip().strip('"') for line in reply.strip().splitlines() if line.strip()]
    if not lines or len(lines[0]) > 400:
        return f"{recent[-1].question} {question}"
    return lines[0]
