"""Questions a passage answers, written by the local model (`prompts/tune_question.j2`)."""

from __future__ import annotations

import jinja2

from app.generation.generator import ChatMessage, Generator
from app.generation.prompting import fenced
from app.paths import PROMPTS_DIR
from ingest.types import Passage

QUESTION_TEMPLATE = "tune_question.j2"
MIN_WORDS, MAX_WORDS = 4, 40

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
    return usable_question(reply)


def usable_question(reply: str) -> str | None:
    """The first line that reads as a question (4-40 words, ending with "?"), cleaned."""
    for line in reply.strip().splitlines():
        text = line.strip().strip("*\"'“”").removeprefix("Question:").strip()
        words = len(text.split())
        if text.endswith("?") and MIN_WORDS <= words <= MAX_WORDS:
            return text
    return None
