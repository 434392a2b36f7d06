"""Training examples as token ids with the model's own chat template; the loss is taken on the
assistant's reply only (the prompt's labels are -100)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from app.tuning.examples import TrainingExample

IGNORED = -100  # label of a token the loss skips


@dataclass(frozen=True)
class Encoded:
    id: str
    input_ids: list[int]
    labels: list[int]

    @property
    def target_tokens(self) -> int:
        return sum(label != IGNORED for label in self.labels)


def encode(example: TrainingExample, tokenizer: Any) -> Encoded:
    """The whole conversation's tokens; labels only on the target (and its end-of-turn)."""
    chat = [{"role": m.role, "content": m.content} for m in example.messages]
    prompt = tokenizer.apply_chat_template(chat[:-1], tokenize=False, add_generation_prompt=True)
    whole = tokenizer.apply_chat_template(chat, tokenize=False)
    if not whole.startswith(prompt):
        raise ValueError(f"{example.id}: the chat template renders the prompt differently alone")
    prompt_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
    reply_ids = tokenizer(whole[len(prompt) :], add_special_tokens=False)["input_ids"]
    ids = list(prompt_ids) + list(reply_ids)
    labels = [IGNORED] * len(prompt_ids) + list(reply_ids)
    return Encoded(example.id, ids, labels)


def encode_all(
    examples: Sequence[TrainingExample], tokenizer: Any, max_tokens: int
) -> tuple[list[Encoded], list[str]]:
    """(encoded examples that fit in `max_tokens`, ids of those that do not)."""
    kept, too_long = [], []
    for example in examples:
        encoded = encode(example, tokenizer)
        if len(encoded.input_ids) > max_tokens:
            too_long.append(example.id)
        else:
            kept.append(encoded)
    return kept, too_long
