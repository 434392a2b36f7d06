"""Fill a llama.cpp context with a prompt's cells, reusing cells computed for earlier prompts.

A prompt is cut into stretches of tokens (`split_prompt`): the opening (the system prompt and
everything before the user's text, the same in every answer), each quoted passage, and the
fresh tokens between them (each source's header, the question). `CellFiller.fill` then puts
the prompt's cells into sequence 0 in token order:

- what the context already holds of this prompt (llama-cpp-python's cached prefix) stays;
- the opening comes from `PassageCache` when computed before, else it is read and kept;
- each passage, in one of two ways:
  - exact (the default): its cells are kept under everything that precedes it in the prompt,
    so they are reused only where they are exactly what reading it would give: the same
    passages in the same order before it (a question asked again, or one whose first passages
    are another's). Otherwise it is read in place and kept;
  - moved: its cells are computed once alone right after the opening and reused wherever the
    passage comes back, moved to its position there (loaded into sequence 1, llama.cpp shifts
    their rotary positions, copied into sequence 0). Such a passage does not see the passages
    before it: the approximation that makes the cells reusable in any prompt (CacheBlend and
    EPIC recompute each passage's first tokens to soften it; here, each source's header is
    read in place). Faster on new questions, but answers can change;
- fresh tokens are read in place, so each source's header and the question attend to every
  passage before them.

The last prompt token is left for llama-cpp-python to read, so its sampling starts as usual.
Any refusal by llama.cpp empties the context; the completion then reads the whole prompt itself
(slower, never wrong).
"""

from __future__ import annotations

import ctypes
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from app.generation.chat_prompt import ChatPrompt, ChatTemplate
from app.generation.passage_cache import PassageCache, cell_key

log = logging.getLogger(__name__)
MAIN, SCRATCH = 0, 1  # sequence 0 is llama-cpp-python's; 1 is where passages are moved


@dataclass(frozen=True)
class Stretch:
    start: int  # token offsets in the prompt
    end: int
    kind: str  # "opening", "passage" or "fresh"


@dataclass
class FillReport:
    kept: int = 0  # tokens already in the context (a cached prefix)
    reused: int = 0  # tokens whose cells came from the cache
    computed: int = 0  # tokens of openings and passages computed now (and cached)
    read: int = 0  # fresh tokens read in place
    stored_bytes: int = 0  # bytes of the cells computed now and kept
    ms: float = 0.0
    failed: str | None = None
    keys: list[str] = field(default_factory=list)


class FillFailed(RuntimeError):
    pass


def with_two_sequences(llama: Any) -> None:
    """Give a loaded `Llama` a new context with room for two sequences in one KV cache (its
    constructor offers one): sequence 1 is where cached cells are moved before they join 0."""
    import contextlib

    from llama_cpp import _internals

    params = llama.context_params
    params.n_seq_max = 2
    params.kv_unified = True  # one cache for both: copying between them shares cells
    old = llama._ctx
    context = _internals.LlamaContext(model=llama._model, params=params, verbose=False)
    llama._ctx = llama._stack.enter_context(contextlib.closing(context))
    old.close()
    llama.n_tokens = 0
    adapter = getattr(llama, "_lora_adapter", None)
    if adapter is not None:  # a LoRA adapter is set on a context: set it on the new one
        import ctypes as c

        import llama_cpp

        adapters = (llama_cpp.llama_adapter_lora_p_ctypes * 1)(adapter)
        scales = (c.c_float * 1)(llama.lora_scale)
        if llama_cpp.llama_set_adapters_lora(context.ctx, adapters, 1, scales):
            raise RuntimeError("llama.cpp refused the LoRA adapter on the new context")


def split_prompt(
    template: ChatTemplate, prompt: ChatPrompt, opening_chars: int, quoted: Sequence[str]
) -> list[Stretch] | None:
    """The prompt's stretches, or None when cutting the text at the stretches' edges does not
    give the prompt's own tokens (a tokenizer merge across an edge) or a quote is not found."""
    edges: list[tuple[int, int, str]] = [(0, opening_chars, "opening")]
    cursor = opening_chars
    for quote in quoted:
        at = prompt.text.find(quote, cursor)
        if at < 0 or not quote:
            return None
        edges.append((at, at + len(quote), "passage"))
        cursor = at + len(quote)
    pieces: list[tuple[str, str]] = []
    done = 0
    for start, end, kind in edges:
        if start > done:
            pieces.append((prompt.text[done:start], "fresh"))
        pieces.append((prompt.text[start:end], kind))
        done = end
    if done < len(prompt.text):
        pieces.append((prompt.text[done:], "fresh"))
    stretches: list[Stretch] = []
    tokens: list[int] = []
    for i, (text, kind) in enumerate(pieces):
        part = template.tokenize(text, first=i == 0, added_special=prompt.added_special)
        stretches.append(Stretch(len(tokens), len(tokens) + len(part), kind))
        tokens.extend(part)
    if tokens != prompt.tokens:
        return None
    return [s for s in stretches if s.end > s.start]


class CellFiller:
    """Puts prompts' cells into one llama-cpp-python `Llama` whose context has two sequences."""

    def __init__(self, llama: Any, cache: PassageCache, model: str, *, exact: bool = True) -> None:
        import llama_cpp

        self._llama, self._cache, self._model = llama, cache, model
        self.exact = exact  # passages keyed by all that precedes them, never moved
        self._n_batch = int(llama.n_batch)
        self._batch = llama_cpp.llama_batch_init(self._n_batch, 0, 2)

    def rekey(self, model: str) -> None:
        """Key cells by `model` from now on (the model or its adapter changed) and empty the
        context: cells computed before are the old model's."""
        self._model = model
        self._empty()

    def close(self) -> None:
        import llama_cpp

        if self._batch is not None:
            llama_cpp.llama_batch_free(self._batch)
            self._batch = None

    def fill(self, tokens: Sequence[int], stretches: Sequence[Stretch]) -> FillReport:
        """Sequence 0 holds the cells of `tokens[:-1]` afterwards, and llama-cpp-python knows it."""
        report = FillReport()
        started = time.perf_counter()
        try:
            self._fill(tokens, stretches, report)
        except FillFailed as exc:
            report.failed = str(exc)
            log.warning("reusing cached cells failed (%s); reading the whole prompt", exc)
            self._empty()
        report.ms = (time.perf_counter() - started) * 1000
        return report

    def precompute(self, tokens: Sequence[int], stretches: Sequence[Stretch]) -> FillReport:
        """Compute and keep the cells of the prompt's passages not cached yet, without
        answering: the prompt is filled up to the end of its last passage."""
        passages = [s for s in stretches if s.kind == "passage"]
        if not passages:
            return FillReport(failed="the prompt quotes no passage")
        upto = passages[-1].end
        return self.fill(tokens[: upto + 1], [s for s in stretches if s.end <= upto])

    def _fill(
        self, tokens: Sequence[int], stretches: Sequence[Stretch], report: FillReport
    ) -> None:
        llama = self._llama
        last = len(tokens) - 1  # the final token is read by the completion itself
        held = report.kept = self._held_prefix(tokens, last)
        opening = next((s for s in stretches if s.kind == "opening"), None)
        if opening is None or opening.start != 0:
            raise FillFailed("the prompt has no opening")
        at = 0
        for stretch in stretches:
            end = min(stretch.end, last)
            if end <= stretch.start:
                break
            if end <= held:  # already in the context
                at = end
                continue
            if stretch.kind == "fresh" or stretch.end > last:
                start = max(stretch.start, held)
                self._drop_from(start)
                self._read(tokens[start:end], start, MAIN)
                report.read += end - start
            elif stretch.kind == "opening" or self.exact:
                self._drop_from(stretch.start)
                self._place_in_context(tokens, stretch, report)
            else:
                self._drop_from(stretch.start)
                self._place(tokens, stretch, tokens[: opening.end], report)
            held = at = end
        if at != last:
            raise FillFailed(f"filled {at} of {last} tokens")
        llama.input_ids[:last] = tokens[:last]
        llama.n_tokens = last

    def _place_in_context(
        self, tokens: Sequence[int], stretch: Stretch, report: FillReport
    ) -> None:
        """The stretch's cells as they are after everything before it in this prompt (exact):
        cached under that whole prefix, or read in place now and kept."""
        own = tokens[stretch.start : stretch.end]
        key = cell_key(self._model, tokens[: stretch.start], own)
        report.keys.append(key)
        cells = self._cache.get(key)
        if cells is not None:
            report.reused += len(own)
            self._load(cells, SCRATCH if stretch.start else MAIN)
            if stretch.start:
                self._move_scratch(0)  # already at its positions
            return
        self._read(own, stretch.start, MAIN)
        cells = self._copy_out(stretch.start, stretch.end)
        self._cache.put(key, cells)
        report.computed += len(own)
        report.stored_bytes += len(cells)

    def _copy_out(self, start: int, end: int) -> bytes:
        import llama_cpp

        memory = self._memory()
        llama_cpp.llama_memory_seq_rm(memory, SCRATCH, -1, -1)
        llama_cpp.llama_memory_seq_cp(memory, MAIN, SCRATCH, start, end)
        try:
            return self._save(SCRATCH)
        finally:
            llama_cpp.llama_memory_seq_rm(memory, SCRATCH, -1, -1)

    def _held_prefix(self, tokens: Sequence[int], last: int) -> int:
        llama = self._llama
        held = 0
        for mine, theirs in zip(llama.input_ids[: llama.n_tokens], tokens[:last], strict=False):
            if mine != theirs:
                break
            held += 1
        self._drop_from(held)
        return held

    def _place(
        self, tokens: Sequence[int], stretch: Stretch, before: Sequence[int], report: FillReport
    ) -> None:
        """The stretch's cells (cached, or computed alone after `before`) at its positions."""
        own = tokens[stretch.start : stretch.end]
        key = cell_key(self._model, before, own)
        report.keys.append(key)
        cells = self._cache.get(key)
        if cells is None:
            cells = self._compute(own, before)
            self._cache.put(key, cells)
            report.computed += len(own)
            report.stored_bytes += len(cells)
        else:
            report.reused += len(own)
        self._load(cells, SCRATCH)
        self._move_scratch(stretch.start - len(before))

    def _compute(self, own: Sequence[int], before: Sequence[int]) -> bytes:
        import llama_cpp

        memory = self._memory()
        llama_cpp.llama_memory_seq_rm(memory, SCRATCH, -1, -1)
        llama_cpp.llama_memory_seq_cp(memory, MAIN, SCRATCH, 0, len(before))
        self._read(own, len(before), SCRATCH)
        llama_cpp.llama_memory_seq_rm(memory, SCRATCH, 0, len(before))
        cells = self._save(SCRATCH)
        llama_cpp.llama_memory_seq_rm(memory, SCRATCH, -1, -1)
        return cells

    def _move_scratch(self, shift: int) -> None:
        import llama_cpp

        memory = self._memory()
        if shift:
            llama_cpp.llama_memory_seq_add(memory, SCRATCH, -1, -1, shift)
        llama_cpp.llama_memory_seq_cp(memory, SCRATCH, MAIN, -1, -1)
        llama_cpp.llama_memory_seq_rm(memory, SCRATCH, -1, -1)

    def _read(self, tokens: Sequence[int], start: int, seq: int) -> None:
        """Compute the cells of `tokens` at positions from `start` in `seq` (no logits)."""
        import llama_cpp

        batch, ctx = self._batch, self._llama._ctx.ctx
        for offset in range(0, len(tokens), self._n_batch):
            part = tokens[offset : offset + self._n_batch]
            for i, token in enumerate(part):
                batch.token[i] = token
                batch.pos[i] = start + offset + i
                batch.n_seq_id[i] = 1
                batch.seq_id[i][0] = seq
                batch.logits[i] = 0
            batch.n_tokens = len(part)
            status = int(llama_cpp.llama_decode(ctx, batch))
            if status != 0:
                raise FillFailed(f"llama_decode returned {status}")

    def _save(self, seq: int) -> bytes:
        import llama_cpp

        ctx = self._llama._ctx.ctx
        size = int(llama_cpp.llama_state_seq_get_size(ctx, seq))
        buffer = (ctypes.c_uint8 * size)()
        written = int(llama_cpp.llama_state_seq_get_data(ctx, buffer, size, seq))
        if written == 0:
            raise FillFailed("llama.cpp wrote no state")
        return bytes(buffer)[:written]

    def _load(self, cells: bytes, seq: int) -> None:
        import llama_cpp

        ctx = self._llama._ctx.ctx
        buffer = (ctypes.c_uint8 * len(cells)).from_buffer_copy(cells)
        if int(llama_cpp.llama_state_seq_set_data(ctx, buffer, len(cells), seq)) == 0:
            raise FillFailed("llama.cpp refused cached cells")

    def _drop_from(self, position: int) -> None:
        import llama_cpp

        llama_cpp.llama_memory_seq_rm(self._memory(), MAIN, position, -1)
        self._llama.n_tokens = min(int(self._llama.n_tokens), position)

    def _empty(self) -> None:
        import llama_cpp

        llama_cpp.llama_memory_clear(self._memory(), True)
        self._llama.n_tokens = 0

    def _memory(self) -> Any:
        import llama_cpp

        return llama_cpp.llama_get_memory(self._llama._ctx.ctx)
