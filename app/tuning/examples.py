"""The training set: JSON Lines an admin can read and edit, one example per line.

```
{"id": "kb-3f2a9c1e", "origin": "knowledge", "split": "train", "question": "...",
 "answerable": true, "document": "guide/install.md",
 "messages": [{"role": "system", "content": "..."}, {"role": "user", "content": "..."},
              {"role": "assistant", "content": "... [2]"}]}
```

`messages` are exactly what the model is shown and should answer (docent's system prompt, the
numbered quoted sources, the question); training learns the last (assistant) message. `origin`
says where the example came from: `knowledge` (a question generated from a chunk),
`out_of_scope` (the same question without the passages that answer it: the target is the
not-found reply), `rated_up` (an answer users rated up) or `corrected` (an admin's correction of
an answer rated down). `split` is `train` or `heldout` (kept for `docent tune eval`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from app.evaluation.answers import AnswerItem
from app.generation.generator import ChatMessage

Origin = Literal["knowledge", "out_of_scope", "rated_up", "corrected"]
ORIGINS: tuple[str, ...] = ("knowledge", "out_of_scope", "rated_up", "corrected")
Split = Literal["train", "heldout"]


class TrainingSetError(ValueError):
    """A training set that cannot be read (the message names the file and line)."""


@dataclass(frozen=True)
class TrainingExample:
    id: str
    origin: Origin
    question: str
    messages: tuple[ChatMessage, ...]  # system, user (sources + question), assistant (target)
    answerable: bool = True
    document: str = ""  # the file whose passage answers it ("" when none does)
    split: Split = "train"
    note: str = ""  # e.g. who corrected the answer, and when

    @property
    def target(self) -> str:
        return self.messages[-1].content

    def record(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "origin": self.origin,
            "split": self.split,
            "question": self.question,
            "answerable": self.answerable,
            "document": self.document,
            "messages": [{"role": m.role, "content": m.content} for m in self.messages],
        }
        return data | ({"note": self.note} if self.note else {})

    def answer_item(self) -> AnswerItem:
        """This example as a question of an answer set (`docent eval answers`)."""
        return AnswerItem(
            id=self.id,
            question=self.question,
            answerable=self.answerable,
            answer=self.target if self.answerable else "",
            document=self.document,
            source=self.origin,
            split=self.split,
        )


@dataclass
class TrainingSet:
    examples: list[TrainingExample] = field(default_factory=list)

    def split(self, name: Split) -> list[TrainingExample]:
        return [e for e in self.examples if e.split == name]

    def heldout_questions(self) -> list[AnswerItem]:
        """The held-out split as questions for the whole pipeline (`docent tune eval`). The
        out-of-scope twins are left out: their answer was hidden only by leaving its passages
        out of the prompt, a search of the knowledge base finds it again, and answering them
        would count as a false answer where it is a right one."""
        return [e.answer_item() for e in self.split("heldout") if e.origin != "out_of_scope"]

    def counts(self) -> dict[str, dict[str, int]]:
        """Examples per origin, per split."""
        out: dict[str, dict[str, int]] = {}
        for example in self.examples:
            row = out.setdefault(example.origin, {"train": 0, "heldout": 0})
            row[example.split] += 1
        return out


def example_id(prefix: str, *parts: str) -> str:
    """A stable id from what the example was made of (the same chunk: the same id)."""
    digest = hashlib.sha256("\0".join(parts).encode("utf-8")).hexdigest()[:10]
    return f"{prefix}-{digest}"


def held_out(group: str, percent: int) -> Split:
    """The split of every example made from `group` (a chunk, an answer): the same each run,
    `percent` of groups held out, so an example and its out-of-scope twin stay together."""
    bucket = int(hashlib.sha256(group.encode("utf-8")).hexdigest()[:8], 16) % 100
    return "heldout" if bucket < percent else "train"


def with_split(
    examples: Iterable[TrainingExample], group: str, percent: int
) -> list[TrainingExample]:
    split = held_out(group, percent)
    return [replace(e, split=split) for e in examples]


def write_training_set(path: Path, examples: Sequence[TrainingExample]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    with partial.open("w", encoding="utf-8") as out:
        for example in examples:
            out.write(json.dumps(example.record(), ensure_ascii=False) + "\n")
    partial.replace(path)
    return path


def read_training_set(path: Path) -> TrainingSet:
    """The examples of a JSONL training set (blank and `#` lines skipped), checked."""
    if not path.is_file():
        raise TrainingSetError(f"{path} is missing: build it with `docent tune data`")
    examples = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            examples.append(_example(json.loads(line)))
        except (ValueError, KeyError, TypeError) as exc:
            raise TrainingSetError(f"{path}:{number}: {exc}") from exc
    if not examples:
        raise TrainingSetError(f"{path}: no examples")
    return TrainingSet(examples)


def _example(data: dict[str, Any]) -> TrainingExample:
    messages = tuple(ChatMessage(m["role"], str(m["content"])) for m in data["messages"])
    roles = [m.role for m in messages]
    if len(messages) < 2 or roles[-1] != "assistant" or "assistant" in roles[:-1]:
        raise ValueError("messages must end with the one assistant message (the target)")
    if any(role not in ("system", "user", "assistant") for role in roles):
        raise ValueError(f"unknown role in {roles}")
    origin = data.get("origin", "knowledge")
    if origin not in ORIGINS:
        raise ValueError(f"unknown origin {origin!r} (one of {', '.join(ORIGINS)})")
    split = data.get("split", "train")
    if split not in ("train", "heldout"):
        raise ValueError(f"unknown split {split!r} (train or heldout)")
    if not messages[-1].content.strip():
        raise ValueError("the assistant message (the target) is empty")
    return TrainingExample(
        id=str(data["id"]),
        origin=origin,
        question=str(data.get("question", "")),
        messages=messages,
        answerable=bool(data.get("answerable", True)),
        document=str(data.get("document", "")),
        split=split,
        note=str(data.get("note", "")),
    )
