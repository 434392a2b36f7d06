"""Examples as tokens: the loss falls on the assistant's reply and its end-of-turn only."""

from __future__ import annotations

import pytest

from app.generation.generator import ChatMessage
from app.tuning.encoding import IGNORED, encode, encode_all
from app.tuning.examples import TrainingExample
from tests.app.tuning.tiny import ByteTokenizer


def _example(reply: str = "Three days [1].") -> TrainingExample:
    messages = (
        ChatMessage("system", "Be docent."),
        ChatMessage("user", "How many days?"),
        ChatMessage("assistant", reply),
    )
    return TrainingExample("kb-1", "knowledge", "How many days?", messages)


def test_only_the_reply_and_its_end_of_turn_are_learned() -> None:
    encoded = encode(_example(), ByteTokenizer())
    text = "".join(chr(i) for i in encoded.input_ids)
    assert text.endswith("<|im_start|>assistant\nThree days [1].<|im_end|>\n")
    learned = "".join(chr(label) for label in encoded.labels if label != IGNORED)
    assert learned == "Three days [1].<|im_end|>\n"
    assert encoded.labels[: text.index("Three")] == [IGNORED] * text.index("Three")
    assert encoded.target_tokens == len(learned)


def test_examples_longer_than_the_limit_are_left_out_by_id() -> None:
    short, long = _example(), _example("x" * 500)
    long = TrainingExample("kb-long", "knowledge", "q", long.messages)
    kept, too_long = encode_all([short, long], ByteTokenizer(), max_tokens=200)
    assert [e.id for e in kept] == ["kb-1"] and too_long == ["kb-long"]


def test_a_template_that_renders_the_prompt_differently_alone_is_refused() -> None:
    class Odd(ByteTokenizer):
        def apply_chat_template(
            self,
            chat: list[dict[str, str]],
            tokenize: bool = False,
            add_generation_prompt: bool = False,
        ) -> str:
            return ("PROMPT " if add_generation_prompt else "") + super().apply_chat_template(chat)

    with pytest.raises(ValueError, match="kb-1: the chat template renders the prompt"):
        encode(_example(), Odd())
