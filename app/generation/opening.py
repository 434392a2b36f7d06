"""An opening the model may take only when it means it: the "not found" reply.

Greedy decoding (and docent's default temperature of 0.1, nearly greedy) picks the single most
likely first token. When the model hesitates between declining and answering, the decline's
one opening word ("I") can win against each of the many words an answer may begin with
("To", "The", "[", "You") although together they are far more likely: on the answer set, the
model declined curl's exit-code question with its FAQ entry as passage 1 while giving "I" 0.33
of its probability and the ways of answering 0.67. So the decision is taken over the whole
distribution at temperature 1: the opening is ruled out at the first token when the model gives
it less than `floor`, and decoding then goes on as it would.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Opening:
    """`text`: the reply whose first token is weighed; `floor`: the least probability that
    token needs at the first step to stay possible (0: never ruled out)."""

    text: str
    floor: float


@dataclass
class OpeningCheck:
    """A llama-cpp-python logits processor for one completion whose prompt has
    `prompt_length` tokens: at the first generated token it weighs `token` and rules it out
    below `floor`. What it saw stays in `probability`, `ruled_out` and `overruled`."""

    token: int
    floor: float
    prompt_length: int
    probability: float | None = None
    ruled_out: bool = False
    overruled: bool = False  # ruled out while it was the model's likeliest first token
    _seen: bool = field(default=False, repr=False)

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        if self._seen or len(input_ids) != self.prompt_length:
            return scores
        self._seen = True
        self.probability = probability_of(self.token, scores)
        if self.probability < self.floor:
            self.overruled = int(scores.argmax()) == self.token
            scores[self.token] = -math.inf
            self.ruled_out = True
        return scores


def probability_of(token: int, scores: Any) -> float:
    """The softmax probability of `token` among `scores` (logits, a numpy array)."""
    import numpy as np

    logits = np.asarray(scores, dtype=np.float64)
    top = float(logits.max())
    total = float(np.exp(logits - top).sum())
    return float(math.exp(float(logits[token]) - top) / total)


def opening_check(
    opening: Opening | None, tokenize: Callable[[str], list[int]], prompt_length: int
) -> OpeningCheck | None:
    """The check for `opening` (None when there is none to make)."""
    if opening is None or opening.floor <= 0:
        return None
    tokens = tokenize(opening.text)
    return OpeningCheck(tokens[0], opening.floor, prompt_length) if tokens else None
