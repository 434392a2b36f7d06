"""Render the prompt files in `prompts/` (Jinja2, StrictUndefined) into chat messages."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

import jinja2

from app.generate import ChatMessage
from app.paths import PROMPTS_DIR
from ingest.types import Passage

NOT_FOUND = "I could not find the answer in the knowledge base."


def fenced(text: str) -> str:
    """Passage text that cannot close or open a <source> fence of its own."""
    return text.replace("</source", "</ source").replace("<source", "< source")


def attribute_value(text: str) -> str:
    return text.replace('"', "'").replace("\n", " ")


class Prompts:
    """The answer prompt: a system message (static, so llama.cpp reuses its cache) + sources."""

    def __init__(self, folder: Path = PROMPTS_DIR) -> None:
        self._env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(str(folder)),
            undefined=jinja2.StrictUndefined,
            autoescape=False,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self._env.filters["fenced"] = fenced
        self._env.filters["attr"] = attribute_value
        sources = [(folder / name).read_bytes() for name in ("system.j2", "answer.j2")]
        self.version = hashlib.sha256(b"\0".join(sources)).hexdigest()[:12]

    def system(self) -> str:
        return self._env.get_template("system.j2").render(not_found=NOT_FOUND).strip()

    def user(self, question: str, passages: Sequence[Passage]) -> str:
        template = self._env.get_template("answer.j2")
        return template.render(question=question, passages=passages).strip()

    def messages(self, question: str, passages: Sequence[Passage]) -> list[ChatMessage]:
        return [
            ChatMessage("system", self.system()),
            ChatMessage("user", self.user(question, passages)),
        ]
