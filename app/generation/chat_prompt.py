"""A chat turned into the model's prompt tokens, the way llama-cpp-python's chat handler does it.

The GGUF's own chat template renders the messages (`tokenizer.chat_template`, with the model's
begin and end tokens), and the text is tokenized with special tokens read as such. Doing this
here instead of inside `create_chat_completion` gives the generator the prompt's tokens, so it
can place cells it computed earlier (a passage's, the system prompt's) before the model reads
the rest. `tests/app/generation/test_chat_prompt.py` checks both give the same tokens.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from app.generation.generator import ChatMessage


@dataclass(frozen=True)
class ChatPrompt:
    text: str
    tokens: list[int]
    stop: list[str]  # stop strings the template asks for (besides the end-of-generation tokens)
    stopping_criteria: Any  # llama-cpp-python's StoppingCriteriaList, or None
    added_special: bool  # the template wrote the BOS token itself


class ChatTemplate:
    """The chat template of a loaded `llama_cpp.Llama`; None from `of()` when it has none."""

    def __init__(self, llama: Any, template: str) -> None:
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        self._llama = llama
        eos, bos = llama.token_eos(), llama.token_bos()
        self._formatter = Jinja2ChatFormatter(
            template=template,
            eos_token=llama._model.token_get_text(eos) if eos != -1 else "",
            bos_token=llama._model.token_get_text(bos) if bos != -1 else "",
            stop_token_ids=[eos],
        )

    @classmethod
    def of(cls, llama: Any) -> ChatTemplate | None:
        template = llama.metadata.get("tokenizer.chat_template")
        return cls(llama, template) if template else None

    def render(self, messages: Sequence[ChatMessage]) -> ChatPrompt:
        chat: Any = [{"role": m.role, "content": m.content} for m in messages]
        result = self._formatter(messages=chat)
        stop = [result.stop] if isinstance(result.stop, str) else list(result.stop or [])
        tokens = self.tokenize(result.prompt, first=True, added_special=result.added_special)
        return ChatPrompt(
            result.prompt, tokens, stop, result.stopping_criteria, result.added_special
        )

    def tokenize(self, text: str, *, first: bool, added_special: bool = False) -> list[int]:
        """`text`'s tokens; `first`: it starts the prompt (a BOS token when the model wants one
        and the template did not write it)."""
        add_bos = first and not added_special
        return list(self._llama.tokenize(text.encode("utf-8"), add_bos=add_bos, special=True))
