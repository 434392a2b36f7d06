"""Render the prompt files in `prompts/` (Jinja2, StrictUndefined) into chat messages.

Admins override a prompt by putting a file of the same name in `DATA_DIR/prompts/`. An override
is checked by rendering it with sample data; a broken one is refused with the error kept for
display, and the last good template stays in use. Overrides are re-read when they change.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2

from app.generation.generator import ChatMessage
from app.generation.sandbox import BoundedSandbox, render_bounded
from app.paths import PROMPTS_DIR
from ingest.types import Passage

NOT_FOUND = "I could not find the answer in the knowledge base."
TEMPLATES = ("system.j2", "answer.j2", "condense.j2")
log = logging.getLogger(__name__)

_SAMPLE_PASSAGE = Passage(
    "sample",
    "sample",
    0,
    "Sample passage text.",
    "Sample document",
    "sample.md",
    ("Sample document", "Section"),
    1,
    1,
    0,
    20,
    1.0,
)


def fenced(text: str) -> str:
    """Passage text that cannot close or open a <source> fence of its own."""
    return text.replace("</source", "</ source").replace("<source", "< source")


def quoted_block(passage: Passage) -> str:
    """A passage's text as the answer template quotes it: each line after "> "."""
    return "".join(f"> {line}\n" for line in fenced(passage.text).splitlines())


def attribute_value(text: str) -> str:
    return text.replace('"', "'").replace("\n", " ")


@dataclass(frozen=True)
class TemplateProblem:
    name: str
    path: Path
    error: str


class Prompts:
    """The answer prompt: a system message (static, so llama.cpp reuses its cache) + sources."""

    def __init__(self, folder: Path = PROMPTS_DIR, overrides: Path | None = None) -> None:
        self._folder, self._overrides = folder, overrides
        self._templates: dict[str, jinja2.Template] = {}
        self._sources: dict[str, str] = {}
        self._stamps: dict[str, float | None] = {}
        self.problems: dict[str, TemplateProblem] = {}
        for name in TEMPLATES:
            self._sources[name] = (folder / name).read_text(encoding="utf-8")
            self._templates[name] = _compile(self._sources[name])
        self.refresh()

    @property
    def version(self) -> str:
        joined = "\0".join(self._sources[name] for name in TEMPLATES)
        return hashlib.sha256(joined.encode("utf-8")).hexdigest()[:12]

    def refresh(self) -> None:
        """Adopt changed override files that render; keep the last good ones otherwise."""
        for name in TEMPLATES:
            path = self._override_path(name)
            stamp = path.stat().st_mtime if path and path.is_file() else None
            if stamp == self._stamps.get(name, "unseen"):
                continue
            self._stamps[name] = stamp
            if path is None or stamp is None:
                continue
            self._adopt(name, path, path.read_text(encoding="utf-8"))

    def check(self, name: str, source: str) -> str | None:
        """The error a template would give, or None when it renders with sample data."""
        try:
            _render(name, _compile(source))
        except Exception as exc:  # a template error, or {{ 1 / 0 }} and the like: refused
            return f"{type(exc).__name__}: {exc}"
        return None

    def system(self) -> str:
        self.refresh()
        return render_bounded(self._templates["system.j2"], not_found=NOT_FOUND).strip()

    def user(self, question: str, passages: Sequence[Passage]) -> str:
        self.refresh()
        template = self._templates["answer.j2"]
        return render_bounded(
            template, question=question, passages=passages, not_found=NOT_FOUND
        ).strip()

    def condense(self, question: str, conversation: Sequence[Any]) -> str:
        """The prompt that turns a follow-up into a standalone question."""
        self.refresh()
        template = self._templates["condense.j2"]
        return render_bounded(template, question=question, conversation=conversation).strip()

    def messages(self, question: str, passages: Sequence[Passage]) -> list[ChatMessage]:
        """The system and user messages. The user message names the passages' quoted text
        where it shows them as the default template does ("> " before each line), so a
        generator may reuse their computed cells; an override that quotes otherwise simply
        gets no reuse."""
        user = self.user(question, passages)
        quoted = tuple(q for q in map(quoted_block, passages) if q and q in user)
        return [ChatMessage("system", self.system()), ChatMessage("user", user, quoted)]

    def _override_path(self, name: str) -> Path | None:
        return self._overrides / name if self._overrides else None

    def _adopt(self, name: str, path: Path, source: str) -> None:
        error = self.check(name, source)
        if error:
            self.problems[name] = TemplateProblem(name, path, error)
            log.error("prompt override %s refused, keeping the last good one: %s", path, error)
            return
        self.problems.pop(name, None)
        self._sources[name], self._templates[name] = source, _compile(source)


# Sandboxed: admins edit these templates in the browser, and a template must not reach Python's
# internals (`{{ cycler.__init__.__globals__.os }}` would run commands on the server), nor take
# unbounded time or memory (`{{ 'x' * 10**10 }}`, nested loops): see app.generation.sandbox.
_ENV = BoundedSandbox(
    undefined=jinja2.StrictUndefined, autoescape=False, trim_blocks=True, lstrip_blocks=True
)
_ENV.add_filter("fenced", fenced)
_ENV.add_filter("attr", attribute_value)


def _compile(source: str) -> jinja2.Template:
    return _ENV.from_string(source)


def _render(name: str, template: jinja2.Template) -> str:
    if name == "system.j2":
        return render_bounded(template, not_found=NOT_FOUND)
    if name == "condense.j2":
        turn = {"question": "Sample question?", "answer": "Sample answer [1]."}
        return render_bounded(template, question="And then?", conversation=[turn])
    return render_bounded(
        template, question="Sample question?", passages=[_SAMPLE_PASSAGE], not_found=NOT_FOUND
    )
