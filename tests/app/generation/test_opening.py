"""The "not found" opening weighed over the model's whole first-token distribution."""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np
import pytest

from app.generation.generator import ChatMessage, LlamaCppGenerator
from app.generation.opening import Opening, OpeningCheck, opening_check, probability_of
from app.models.packaged import smollm2_path

PROMPT = [5, 6, 7]


def logits(probabilities: list[float]) -> np.ndarray:
    return np.log(np.asarray(probabilities, dtype=np.float32))


def test_probability_of_is_the_softmax_share_of_the_token() -> None:
    scores = logits([0.33, 0.2, 0.17, 0.3])
    assert probability_of(0, scores) == pytest.approx(0.33, abs=1e-6)
    assert probability_of(3, scores + 50.0) == pytest.approx(0.3, abs=1e-6)  # shift-proof


def test_an_opening_below_its_floor_is_ruled_out_at_the_first_token_only() -> None:
    check = OpeningCheck(token=0, floor=0.5, prompt_length=len(PROMPT))
    # the most likely single token, yet a third of the whole: answering is likelier
    first = check(PROMPT, logits([0.33, 0.2, 0.17, 0.3]))
    assert check.ruled_out and check.probability == pytest.approx(0.33, abs=1e-6)
    assert first[0] == -math.inf and int(np.argmax(first)) == 3
    later = check([*PROMPT, 3], logits([0.9, 0.05, 0.03, 0.02]))
    assert later[0] != -math.inf  # later tokens are the model's own
    assert check.probability == pytest.approx(0.33, abs=1e-6)


def test_an_opening_the_model_means_is_left_alone() -> None:
    check = OpeningCheck(token=0, floor=0.5, prompt_length=len(PROMPT))
    scores = logits([0.6, 0.2, 0.1, 0.1])
    assert np.array_equal(check(PROMPT, scores.copy()), scores)
    assert not check.ruled_out and check.probability == pytest.approx(0.6, abs=1e-6)


def test_no_check_without_an_opening_a_floor_or_tokens() -> None:
    def tokenize(text: str) -> list[int]:
        return [ord(c) for c in text]

    assert opening_check(None, tokenize, 3) is None
    assert opening_check(Opening("I could not find it.", 0.0), tokenize, 3) is None
    assert opening_check(Opening("", 0.5), tokenize, 3) is None
    check = opening_check(Opening("I could not find it.", 0.5), tokenize, 3)
    assert check is not None and (check.token, check.prompt_length) == (ord("I"), 3)


@pytest.fixture(scope="module")
def model() -> Iterator[LlamaCppGenerator]:
    yield LlamaCppGenerator(smollm2_path(), model_id="smollm2", n_ctx=2048)


CHAT = [
    ChatMessage("system", "You answer in one short sentence."),
    ChatMessage("user", "What colour is the sky on a clear day?"),
]


@pytest.mark.slow
def test_the_real_model_opens_otherwise_when_its_first_token_is_ruled_out(
    model: LlamaCppGenerator,
) -> None:
    plain = "".join(model.stream(CHAT, max_tokens=8, temperature=0.0))
    assert model.last_opening is None

    always = "".join(model.stream(CHAT, max_tokens=8, temperature=0.0, opening=Opening(plain, 1.0)))
    check = model.last_opening
    assert check is not None and check.ruled_out and check.probability is not None
    assert check.token == model._opening_tokens(plain)[0]
    assert always != plain

    meant = "".join(model.stream(CHAT, max_tokens=8, temperature=0.0, opening=Opening(plain, 1e-6)))
    assert meant == plain and model.last_opening is not None
    assert not model.last_opening.ruled_out
    assert model.last_opening.probability == pytest.approx(check.probability, rel=1e-3)


def test_overruled_only_when_the_opening_was_the_likeliest_first_token() -> None:
    leaning = OpeningCheck(token=0, floor=0.5, prompt_length=len(PROMPT))
    leaning(PROMPT, logits([0.33, 0.2, 0.17, 0.3]))
    assert leaning.ruled_out and leaning.overruled
    unlikely = OpeningCheck(token=1, floor=0.5, prompt_length=len(PROMPT))
    unlikely(PROMPT, logits([0.33, 0.2, 0.17, 0.3]))
    assert unlikely.ruled_out and not unlikely.overruled  # the model was not going to say it
