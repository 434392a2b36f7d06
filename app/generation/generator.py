"""The `Generator` protocol and its llama.cpp adapter (one model, one completion at a time).

Requests take turns on the one llama.cpp context through a `FairQueue`: first come, first
served, each waiter told how many are ahead of it, and a wait that can time out.
"""

from __future__ import annotations

import os
import threading
import time
from collections import abc, deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

from app.generation.chat_prompt import ChatPrompt, ChatTemplate
from app.generation.llama_state import restore_prompt, save_prompt
from app.generation.lora import LoraSlot, forget_context
from app.generation.opening import Opening, OpeningCheck, opening_check
from app.generation.passage_cache import PassageCache, model_fingerprint
from app.generation.prompt_cells import (
    CellFiller,
    FillReport,
    Stretch,
    split_prompt,
    with_two_sequences,
)

Pieces = abc.Generator[str, None, None]  # a streamed completion; closing it stops decoding


@dataclass(frozen=True)
class ChatMessage:
    role: Literal["system", "user", "assistant"]
    content: str
    # stretches of `content` that quote passages verbatim, in order: a generator may reuse
    # the cells it computed for the same stretch in an earlier prompt (see prompt_cells)
    quoted: tuple[str, ...] = ()


class GenerationFailed(RuntimeError):
    """No answer could be generated; the message says why, in words for the user."""


class ModelBusy(GenerationFailed):
    """A request waited longer than its limit for its turn on the model."""


class FairQueue:
    """First come, first served turns on one resource (a llama.cpp context).

    The ticket at the head of the line holds the resource until it leaves; the others wait
    in arrival order and are told how many tickets are ahead of them.
    """

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._line: deque[Ticket] = deque()

    def join(self) -> Ticket:
        ticket = Ticket(self)
        with self._changed:
            self._line.append(ticket)
        return ticket

    def __len__(self) -> int:
        """Tickets in line, the one holding the resource included."""
        with self._changed:
            return len(self._line)

    def leave(self, ticket: Ticket) -> None:
        with self._changed:
            if ticket in self._line:
                self._line.remove(ticket)
                self._changed.notify_all()

    def moved(self, ticket: Ticket, told: int, deadline: float | None) -> bool:
        """Without blocking: would `next_place` return (or raise) at once? True once the
        number ahead differs from `told`, the turn came, the ticket left, or `deadline`
        passed. An async caller waits for this before asking, so no thread waits in line."""
        with self._changed:
            if ticket not in self._line:
                return True
            ahead = self._line.index(ticket)
        return (
            ahead != told or ahead == 0 or (deadline is not None and time.monotonic() >= deadline)
        )

    def next_place(self, ticket: Ticket, told: int, deadline: float | None) -> int:
        """Block until the number ahead of `ticket` differs from `told`, or is zero; past
        `deadline` (time.monotonic) take it out of the line and raise ModelBusy."""
        with self._changed:
            while (ahead := self._line.index(ticket)) == told and ahead > 0:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    self._line.remove(ticket)
                    self._changed.notify_all()
                    raise ModelBusy(
                        f"The model is busy answering other questions ({ahead} ahead of yours);"
                        " please try again in a minute."
                    )
                self._changed.wait(remaining)
            return ahead


class Ticket:
    """One request's place in a `FairQueue`; leave it (or use `with`) when done."""

    def __init__(self, queue: FairQueue) -> None:
        self._queue = queue
        self._told = 0
        self._deadline: float | None = None

    def wait(self, timeout: float | None = None) -> Iterator[int]:
        """Yield the number of tickets ahead each time it changes; return at this ticket's
        turn. After `timeout` seconds without the turn, leave the line and raise ModelBusy.
        Between two places, `moved()` says without blocking whether the next is there."""
        self._deadline = None if timeout is None else time.monotonic() + timeout
        self._told = 0
        while (ahead := self._queue.next_place(self, self._told, self._deadline)) > 0:
            self._told = ahead
            yield ahead

    def moved(self) -> bool:
        """True when `wait` would go on at once: the line moved, the turn came, or time ran
        out (see `FairQueue.moved`)."""
        return self._queue.moved(self, self._told, self._deadline)

    def leave(self) -> None:
        """Give up the turn or the place in line (safe to call twice)."""
        self._queue.leave(self)

    def __enter__(self) -> Ticket:
        return self

    def __exit__(self, *exc: object) -> None:
        self.leave()


class Generator(Protocol):
    """Streams a chat completion; counts tokens with the model's own tokenizer.

    `queue` is the line callers wait in before `stream` (one completion at a time), or None
    when the backend queues requests itself (a model server).
    """

    model_id: str
    context_length: int
    queue: FairQueue | None

    @property
    def adapter(self) -> str:
        """The LoRA adapter applied to the model now ("" when none)."""

    def count_tokens(self, text: str) -> int: ...

    def stream(
        self,
        messages: Sequence[ChatMessage],
        *,
        max_tokens: int,
        temperature: float,
        opening: Opening | None = None,
    ) -> Pieces:
        """`opening`: a reply the model may open with only when it gives it at least its
        floor of probability (see `app.generation.opening`; a model server ignores it)."""


class LlamaCppGenerator:
    """A GGUF model in llama-cpp-python; the chat template comes from the GGUF itself.

    With a `passage_cache`, the context gets a second sequence, and a prompt's opening and
    quoted passages are placed from cells computed for earlier prompts (`prompt_cells`: where
    the same passages came before them, or anywhere with `move_passages`) instead of being
    read again; `warm()` computes the opening before the first question.
    """

    def __init__(
        self,
        path: Path,
        *,
        model_id: str,
        n_ctx: int,
        n_threads: int | None = None,
        lora_path: Path | None = None,
        lora_scale: float = 1.0,
        passage_cache: PassageCache | None = None,
        move_passages: bool = False,
    ) -> None:
        from llama_cpp import Llama

        self.model_id = model_id
        self._path = path
        self._llama: Any = Llama(
            model_path=str(path),
            n_ctx=n_ctx,
            n_threads=n_threads or os.cpu_count() or 1,
            verbose=False,
        )
        self.context_length = int(self._llama.n_ctx())
        self.queue: FairQueue | None = FairQueue()  # callers hold a turn while they stream
        self._running = threading.Lock()  # a guard: overlapping completions fail loudly
        self.last_fill: FillReport | None = None  # how the last prompt's cells were placed
        self.last_opening: OpeningCheck | None = None  # what the last completion's check saw
        self._template = ChatTemplate.of(self._llama)
        self._filler: CellFiller | None = None
        if passage_cache is not None and self._template is not None:
            with_two_sequences(self._llama)
            fingerprint = model_fingerprint(path, lora_path, lora_scale)
            self._filler = CellFiller(
                self._llama, passage_cache, fingerprint, exact=not move_passages
            )
        self.passage_cache = passage_cache if self._filler is not None else None
        self._lora = LoraSlot(self._llama)  # set on the context in use (after the one above)
        self._lora.set(lora_path, lora_scale)
        self.adapter = lora_path.name if lora_path else ""
        self.adapter_path: Path | None = lora_path

    def use_adapter(self, path: Path | None, scale: float | None = None) -> None:
        """Answer with the LoRA adapter at `path` from the next completion on (None: the model
        alone), without loading the model again; `scale` defaults to the current one. The
        context's cells are emptied and the passage cells are keyed by the new adapter. The
        caller holds a turn in `queue`; a file llama.cpp refuses (AdapterNotLoaded) leaves the
        adapter in use as it was."""
        scale = self._lora.scale if scale is None else scale
        with self._running:
            self._lora.set(path, scale)
            self.adapter, self.adapter_path = (path.name if path else ""), path
            self.last_fill = None
            forget_context(self._llama)
            if self._filler is not None:
                self._filler.rekey(model_fingerprint(self._path, path, scale))

    def count_tokens(self, text: str) -> int:
        return len(self._llama.tokenize(text.encode("utf-8"), add_bos=False, special=True))

    def stream(
        self,
        messages: Sequence[ChatMessage],
        *,
        max_tokens: int,
        temperature: float,
        opening: Opening | None = None,
        keep_prompt: bool = False,
    ) -> Pieces:
        """The answer's pieces; closing the iterator stops decoding at the next token.
        `opening`: see `app.generation.opening`. `keep_prompt`: afterwards, put back the prompt
        that was cached before (`aside`)."""
        if not self._running.acquire(blocking=False):
            raise RuntimeError("a completion is already running on this context: wait in `queue`")
        saved = save_prompt(self._llama) if keep_prompt else None
        try:
            chunks = self._completion(
                messages, max_tokens=max_tokens, temperature=temperature, opening=opening
            )
            try:
                for chunk in chunks:
                    text = chunk["choices"][0].get("text")
                    if text:
                        yield text
            finally:
                chunks.close()
        finally:
            if keep_prompt:
                restore_prompt(self._llama, saved)
            self._running.release()

    def _completion(
        self,
        messages: Sequence[ChatMessage],
        *,
        max_tokens: int,
        temperature: float,
        opening: Opening | None = None,
    ) -> Any:
        """A streamed completion of `messages`, its prompt's cells placed first when cached
        ones can be reused. Sampling settings are llama-cpp-python's chat defaults."""
        from llama_cpp import LogitsProcessorList

        sampling: dict[str, Any] = {
            "max_tokens": max_tokens,
            "temperature": temperature,
            "top_p": 0.95,
            "top_k": 40,
            "min_p": 0.05,
            "repeat_penalty": 1.1,
            "stream": True,
        }
        self.last_opening = None
        if self._template is None:  # no template in the GGUF: llama-cpp-python's guess
            chat = self._llama.create_chat_completion(
                messages=[{"role": m.role, "content": m.content} for m in messages], **sampling
            )
            return _as_text_chunks(chat)
        prompt = self._template.render(messages)
        if self._filler is not None:
            self.last_fill = self._fill(prompt, messages)
        check = opening_check(opening, self._opening_tokens, len(prompt.tokens))
        self.last_opening = check
        return self._llama.create_completion(
            prompt=prompt.tokens,
            stop=prompt.stop,
            stopping_criteria=prompt.stopping_criteria,
            logits_processor=LogitsProcessorList([check]) if check else None,
            **sampling,
        )

    def _opening_tokens(self, text: str) -> list[int]:
        return list(self._llama.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    def _fill(self, prompt: ChatPrompt, messages: Sequence[ChatMessage]) -> FillReport | None:
        assert self._filler is not None
        stretches = self._stretches(prompt, messages)
        if stretches is None or len(prompt.tokens) < 2:
            return None
        return self._filler.fill(prompt.tokens, stretches)

    def _stretches(
        self, prompt: ChatPrompt, messages: Sequence[ChatMessage]
    ) -> list[Stretch] | None:
        """The prompt cut at its opening and its user message's quoted passages."""
        assert self._template is not None
        user = messages[-1]
        opening = prompt.text.rfind(user.content) if user.role == "user" else -1
        if opening <= 0:
            return None
        return split_prompt(self._template, prompt, opening, user.quoted)

    def prepare(self, messages: Sequence[ChatMessage]) -> FillReport | None:
        """Compute and keep the cells of `messages`' quoted passages that are not cached yet,
        without answering (None when this generator keeps no passage cells, or the prompt
        cannot be cut into its stretches). The caller holds a turn in `queue`."""
        if self._filler is None or self._template is None:
            return None
        prompt = self._template.render(messages)
        stretches = self._stretches(prompt, messages)
        if stretches is None:
            return None
        with self._running:
            return self._filler.precompute(prompt.tokens, stretches)

    def warm(self, messages: Sequence[ChatMessage]) -> None:
        """Read `messages`' prompt (all but its last token) now, so that the first question
        finds the system prompt's cells ready (loaded from the passage cache when it has
        them). The caller holds a turn in `queue`."""
        if self._template is None:
            return
        prompt = self._template.render(messages)
        with self._running:
            if self._filler is not None:
                self.last_fill = self._fill(prompt, messages)
            else:
                self._llama.reset()
                self._llama.eval(prompt.tokens[:-1])

    def aside(self) -> Aside:
        """This model for short side tasks (rewriting a follow-up): same context, but the
        prompt cached in it before the task is put back afterwards, for the next answer."""
        return Aside(self)

    @property
    def cached_tokens(self) -> int:
        """Tokens evaluated into the context (the cached prefix the next request may reuse)."""
        return int(self._llama.n_tokens)


def _as_text_chunks(chat: Any) -> abc.Generator[dict[str, Any], None, None]:
    """Chat completion chunks as completion chunks (`choices[0]["text"]`)."""
    try:
        for chunk in chat:
            text = chunk["choices"][0]["delta"].get("content")
            yield {"choices": [{"text": text}]}
    finally:
        chat.close()


class Aside:
    """Completions on a `LlamaCppGenerator`'s context that leave its cached prompt as they
    found it. Callers already hold their turn on that context (so `queue` is None here)."""

    queue: FairQueue | None = None

    def __init__(self, main: LlamaCppGenerator) -> None:
        self.main = main
        self.model_id = main.model_id
        self.context_length = main.context_length

    @property
    def adapter(self) -> str:
        """The main generator's adapter, whichever is in use now."""
        return self.main.adapter

    def count_tokens(self, text: str) -> int:
        return self.main.count_tokens(text)

    def stream(
        self,
        messages: Sequence[ChatMessage],
        *,
        max_tokens: int,
        temperature: float,
        opening: Opening | None = None,
    ) -> Pieces:
        yield from self.main.stream(
            messages,
            max_tokens=max_tokens,
            temperature=temperature,
            opening=opening,
            keep_prompt=True,
        )
