"""The `Generator` protocol and its llama.cpp adapter (one model, one completion at a time)."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol


@dataclass(frozen=True)
class ChatMessage:
    role: Literal["system", "user", "assistant"]
    content: str


class Generator(Protocol):
    """Streams a chat completion; counts tokens with the model's own tokenizer."""

    model_id: str
    context_length: int

    def count_tokens(self, text: str) -> int: ...

    def stream(
        self, messages: Sequence[ChatMessage], *, max_tokens: int, temperature: float
    ) -> Iterator[str]: ...


class LlamaCppGenerator:
    """A GGUF model in llama-cpp-python; the chat template comes from the GGUF itself."""

    def __init__(
        self, path: Path, *, model_id: str, n_ctx: int, n_threads: int | None = None
    ) -> None:
        from llama_cpp import Llama

        self.model_id = model_id
        self._llama: Any = Llama(
            model_path=str(path),
            n_ctx=n_ctx,
            n_threads=n_threads or os.cpu_count() or 1,
            verbose=False,
        )
        self.context_length = int(self._llama.n_ctx())
        # llama.cpp holds one context: completions must not overlap
        self._lock = threading.Lock()

    def count_tokens(self, text: str) -> int:
        return len(self._llama.tokenize(text.encode("utf-8"), add_bos=False, special=True))

    def stream(
        self, messages: Sequence[ChatMessage], *, max_tokens: int, temperature: float
    ) -> Iterator[str]:
        with self._lock:
            chunks = self._llama.create_chat_completion(
                messages=[{"role": m.role, "content": m.content} for m in messages],
                max_tokens=max_tokens,
                temperature=temperature,
                stream=True,
            )
            for chunk in chunks:
                text = chunk["choices"][0]["delta"].get("content")
                if text:
                    yield text
