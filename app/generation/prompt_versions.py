"""Editing the prompt templates from the admin console: checked saves, a preview, and a history.

A save writes the override file `DATA_DIR/prompts/NAME` (which `prompting.Prompts` picks up
on the next question) only when the template renders; every save is also kept in the
`prompt_versions` table, so an older version can be viewed and restored. The built-in file in
`prompts/` stays the fallback ("reset" removes the override).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import Column, DateTime, Engine, Integer, String, Table, Text, insert, select

from app.accounts.db import metadata, utcnow
from app.answering.followup import Turn
from app.generation.prompting import TEMPLATES, Prompts
from app.paths import PROMPTS_DIR
from ingest.types import Passage

MAX_TEMPLATE_CHARS = 20_000

prompt_versions = Table(
    "prompt_versions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(64), nullable=False, index=True),
    Column("source", Text, nullable=False),
    Column("saved_by", String(64), nullable=False),
    Column("saved_at", DateTime, nullable=False),
    Column("note", String(200), nullable=False, default=""),
)


class UnknownPrompt(LookupError):
    pass


@dataclass(frozen=True)
class PromptVersion:
    id: int
    name: str
    source: str
    saved_by: str
    saved_at: datetime
    note: str


@dataclass(frozen=True)
class PromptInfo:
    name: str
    overridden: bool  # an override file is in use (else the built-in template)
    problem: str | None  # the override file on disk does not render (the last good one is used)
    versions: int


@dataclass(frozen=True)
class Preview:
    messages: list[tuple[str, str]]  # (role, text) as the model would get them
    error: str | None = None


class PromptEditor:
    """Saves, history and previews for the templates in `app.generation.prompting.TEMPLATES`."""

    def __init__(
        self, engine: Engine, overrides: Path, live: Prompts, builtin: Path = PROMPTS_DIR
    ) -> None:
        self.engine, self.overrides, self.live, self.builtin = engine, overrides, live, builtin
        metadata.create_all(engine, tables=[prompt_versions])

    def names(self) -> tuple[str, ...]:
        return TEMPLATES

    def info(self) -> list[PromptInfo]:
        self.live.refresh()
        return [
            PromptInfo(
                name,
                self._override(name).is_file(),
                p.error if (p := self.live.problems.get(name)) else None,
                len(self.history(name)),
            )
            for name in TEMPLATES
        ]

    def current(self, name: str) -> str:
        """The source in effect: the override when it exists, else the built-in file."""
        path = self._override(name)
        return (path if path.is_file() else self.builtin / name).read_text(encoding="utf-8")

    def builtin_source(self, name: str) -> str:
        return (self.builtin / self._known(name)).read_text(encoding="utf-8")

    def check(self, name: str, source: str) -> str | None:
        """The error a template would give (syntax, unknown variable, too long), or None."""
        if len(source) > MAX_TEMPLATE_CHARS:
            return f"the template is {len(source)} characters; at most {MAX_TEMPLATE_CHARS}"
        if not source.strip():
            return "the template is empty"
        return self.live.check(self._known(name), source)

    def save(self, name: str, source: str, actor: str, note: str = "") -> str | None:
        """Write the override and record the version; returns the error instead when it does not
        render (nothing is written then, the template in use stays)."""
        source = source.replace("\r\n", "\n")
        if error := self.check(name, source):
            return error
        _write_atomically(self._override(name), source)
        row = {"name": name, "source": source, "saved_by": actor[:64], "saved_at": utcnow()}
        with self.engine.begin() as conn:
            conn.execute(insert(prompt_versions).values(**row, note=note[:200]))
        self.live.refresh()
        return None

    def reset(self, name: str, actor: str) -> None:
        """Back to the built-in template (recorded as a version, so it can be undone).

        The built-in text is adopted as an override first, then the file is removed: `Prompts`
        keeps the last good template when an override disappears.
        """
        builtin = self.builtin_source(name)
        _write_atomically(self._override(name), builtin)
        self.live.refresh()
        self._override(name).unlink()
        self.live.refresh()
        row = {"name": name, "source": builtin, "saved_by": actor[:64], "saved_at": utcnow()}
        with self.engine.begin() as conn:
            conn.execute(insert(prompt_versions).values(**row, note="built-in"))

    def history(self, name: str) -> list[PromptVersion]:
        """Saved versions, newest first."""
        query = (
            select(prompt_versions)
            .where(prompt_versions.c.name == self._known(name))
            .order_by(prompt_versions.c.id.desc())
        )
        with self.engine.connect() as conn:
            return [PromptVersion(**row) for row in conn.execute(query).mappings()]

    def version(self, name: str, version_id: int) -> PromptVersion | None:
        query = select(prompt_versions).where(
            prompt_versions.c.id == version_id, prompt_versions.c.name == self._known(name)
        )
        with self.engine.connect() as conn:
            row = conn.execute(query).mappings().first()
        return PromptVersion(**row) if row else None

    def preview(
        self,
        name: str,
        source: str,
        question: str,
        passages: Sequence[Passage],
        conversation: Sequence[Turn] = (),
    ) -> Preview:
        """The messages the model would get for `question` with this template in place of the
        current one (rendered exactly as answering does, by a throwaway `Prompts`)."""
        if error := self.check(name, source):
            return Preview([], error)
        with tempfile.TemporaryDirectory(prefix="docent-prompt-") as folder:
            for other in TEMPLATES:
                text = source if other == name else self._usable(other)
                (Path(folder) / other).write_text(text, encoding="utf-8")
            trial = Prompts(folder=Path(folder))
            if name == "condense.j2":
                turns = conversation or (Turn("How many days of leave do I get?", "25 days [1]."),)
                return Preview([("user", trial.condense(question, turns))])
            return Preview([(m.role, m.content) for m in trial.messages(question, passages)])

    def _usable(self, name: str) -> str:
        """The current source, or the built-in one when the override on disk is broken."""
        return self.builtin_source(name) if name in self.live.problems else self.current(name)

    def _override(self, name: str) -> Path:
        return self.overrides / self._known(name)

    @staticmethod
    def _known(name: str) -> str:
        if name not in TEMPLATES:
            raise UnknownPrompt(f"no prompt named {name!r}")
        return name


def _write_atomically(path: Path, text: str) -> None:
    """Replace the file in one step, with a modification time newer than the old file's (the
    clock's granularity could repeat it, and `Prompts` notices changes by that time)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    before = path.stat().st_mtime_ns if path.exists() else -1
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".tmp")
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        out.write(text)
    os.replace(temporary, path)
    if path.stat().st_mtime_ns <= before:
        later = before + 1_000_000
        os.utime(path, ns=(later, later))
