"""Questions a passage answers, written by the local model (`prompts/tune_question.j2`)."""

from __future__ import annotations

import jinja2

from app.generation.generator import ChatMessage, Generator
from app.generation.prompting import fenced
from app.paths import PROMPTS_DIR
from ingest.sparse import terms
from ingest.types import Passage

QUESTION_TEMPLATE = "tune_question.j2"
MIN_WORDS, MAX_WORDS = 4, 40
MIN_SHARED_TERMS = 2  # a question about the passage names its subject in the passage's words

_ENV = jinja2.Environment(
    undefined=jinja2.StrictUndefined, autoescape=False, trim_blocks=True, lstrip_blocks=True
)
_ENV.filters["fenced"] = fenced


def question_prompt(passage: Passage) -> str:
    template = _ENV.from_string((PROMPTS_DIR / QUESTION_TEMPLATE).read_text(encoding="utf-8"))
    return template.render(title=passage.title, section=passage.section, text=passage.text).strip()


def ask_about(generator: Generator, passage: Passage, max_tokens: int = 64) -> str | None:
    """One question the passage answers, or None when the model wrote no usable question."""
    messages = [ChatMessage("user", question_prompt(passage))]
    reply = "".join(generator.stream(messages, max_tokens=max_tokens, temperature=0.0))
    return usable_question(reply, passage.text)


def usable_question(reply: str, passage: str) -> str | None:
    """The first line that reads as a question (4-40 words, ending with "?") and names
    something of the passage (2 content words in common: "What is the answer to this
    question?" does not), cleaned."""
    vocabulary = set(terms(passage))
    for line in reply.strip().splitlines():
        text = line.strip().strip("*\"'“”").removeprefix("Question:").strip()
        words = len(text.split())
        if not (text.endswith("?") and MIN_WORDS <= words <= MAX_WORDS):
            continue
        asked = set(terms(text))
        if len(asked & vocabulary) >= min(MIN_SHARED_TERMS, len(asked)):
            return text
    return None
