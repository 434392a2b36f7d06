"""Reusing computed passage cells in the real llama.cpp (the tiny SmolLM2, greedy)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from app.generation.chat_prompt import ChatTemplate
from app.generation.generator import ChatMessage, LlamaCppGenerator
from app.generation.passage_cache import PassageCache
from app.generation.prompt_cells import split_prompt
from app.models.packaged import smollm2_path

pytestmark = pytest.mark.slow
SYSTEM = "You answer questions from the numbered sources only, citing them like [1]."
HOURS = "The office opens at 8 am and closes at 6 pm on weekdays.\nOn Saturdays it is closed.\n"
HOME = "Employees may work from home up to three days per week, with their manager's approval.\n"
GYM = "The gym in the basement is open from 6 am to 10 pm, also at weekends.\n"


def quoted(text: str) -> str:
    return "".join(f"> {line}\n" for line in text.splitlines())


def messages(question: str, passages: Sequence[str]) -> list[ChatMessage]:
    blocks = tuple(quoted(p) for p in passages)
    sources = "".join(
        f'<source id="{n}" document="Handbook">\n{block}</source>\n'
        for n, block in enumerate(blocks, 1)
    )
    user = f"Sources:\n{sources}\nQuestion: {question}\n\nAnswer from the sources, citing [1]."
    return [ChatMessage("system", SYSTEM), ChatMessage("user", user, blocks)]


def answer(generator: LlamaCppGenerator, chat: Sequence[ChatMessage]) -> str:
    return "".join(generator.stream(chat, max_tokens=24, temperature=0.0))


@pytest.fixture(scope="module")
def plain() -> Iterator[LlamaCppGenerator]:
    yield LlamaCppGenerator(smollm2_path(), model_id="smollm2", n_ctx=2048)


def reusing(folder: Path, *, move: bool) -> LlamaCppGenerator:
    cache = PassageCache(folder, disk_bytes=1 << 30, ram_bytes=1 << 28)
    return LlamaCppGenerator(
        smollm2_path(), model_id="smollm2", n_ctx=2048, passage_cache=cache, move_passages=move
    )


@pytest.fixture(scope="module")
def moving(tmp_path_factory: pytest.TempPathFactory) -> LlamaCppGenerator:
    return reusing(tmp_path_factory.mktemp("moved"), move=True)


@pytest.fixture(scope="module")
def in_place(tmp_path_factory: pytest.TempPathFactory) -> LlamaCppGenerator:
    return reusing(tmp_path_factory.mktemp("exact"), move=False)


def emptied(generator: LlamaCppGenerator) -> LlamaCppGenerator:
    """The generator with an empty cache and an empty context."""
    assert generator.passage_cache is not None
    generator.passage_cache.clear()
    generator._llama.reset()
    return generator


@pytest.fixture()
def cached(moving: LlamaCppGenerator) -> LlamaCppGenerator:
    """Passages reused wherever they come back (moved into place)."""
    return emptied(moving)


@pytest.fixture()
def exact(in_place: LlamaCppGenerator) -> LlamaCppGenerator:
    """Passages reused only after the same passages (the default)."""
    return emptied(in_place)


def test_our_prompt_tokens_are_llama_cpp_python_s_own(plain: LlamaCppGenerator) -> None:
    chat = messages("When does the office open?", [HOURS, HOME])
    template = ChatTemplate.of(plain._llama)
    assert template is not None
    prompt = template.render(chat)
    plain._llama.reset()
    plain._llama.create_chat_completion(
        messages=[{"role": m.role, "content": m.content} for m in chat], max_tokens=1
    )
    assert list(plain._llama.input_ids[: len(prompt.tokens)]) == prompt.tokens


def test_the_prompt_splits_at_each_quoted_passage(plain: LlamaCppGenerator) -> None:
    chat = messages("When does the office open?", [HOURS, HOME])
    template = ChatTemplate.of(plain._llama)
    assert template is not None
    prompt = template.render(chat)
    stretches = split_prompt(template, prompt, prompt.text.rfind(chat[-1].content), chat[-1].quoted)
    assert stretches is not None
    kinds = [s.kind for s in stretches]
    assert kinds == ["opening", "fresh", "passage", "fresh", "passage", "fresh"]
    assert stretches[-1].end == len(prompt.tokens)
    passages = [s for s in stretches if s.kind == "passage"]
    for stretch, block in zip(passages, chat[-1].quoted, strict=True):
        text = plain._llama.detokenize(prompt.tokens[stretch.start : stretch.end]).decode()
        assert text == block

    missing = ("> not in the prompt\n",)
    assert split_prompt(template, prompt, 10, missing) is None


def test_cached_cells_are_reused_in_any_order_and_give_the_same_answer_as_computing_them(
    cached: LlamaCppGenerator,
) -> None:
    first = answer(cached, messages("When does the office open?", [HOURS, HOME, GYM]))
    fill = cached.last_fill
    assert fill is not None and fill.failed is None
    assert fill.reused == 0 and fill.computed > 0 and fill.read > 0

    cached._llama.reset()  # nothing kept in the context: all from the cache
    again = answer(cached, messages("When does the office open?", [HOURS, HOME, GYM]))
    fill = cached.last_fill
    assert fill is not None and fill.failed is None
    assert fill.kept == 0 and fill.computed == 0 and fill.reused > 0
    assert again == first

    moved = answer(cached, messages("When is the gym open?", [GYM, HOURS, HOME]))
    fill = cached.last_fill
    assert fill is not None and fill.failed is None and fill.computed == 0
    assert moved.strip()
    memory = _positions(cached)
    assert memory == (0, len(cached._llama.input_ids[: cached._llama.n_tokens]) - 1)


def test_with_nothing_between_the_opening_and_one_passage_the_answer_is_exact(
    cached: LlamaCppGenerator, plain: LlamaCppGenerator
) -> None:
    """One passage straight after the opening: its cells, computed alone, are the exact ones
    (nothing else comes before it), so the answer is the one the plain path gives."""
    block = quoted(HOME)
    chat = [
        ChatMessage("system", SYSTEM),
        ChatMessage("user", f"{block}Question: How many days can I work from home?", (block,)),
    ]
    plain._llama.reset()
    expected = answer(plain, chat)
    assert answer(cached, chat) == expected  # computed now
    cached._llama.reset()
    assert answer(cached, chat) == expected  # from the cache
    assert cached.last_fill is not None and cached.last_fill.reused > 0


def test_cells_llama_cpp_refuses_mean_reading_the_whole_prompt(
    cached: LlamaCppGenerator, plain: LlamaCppGenerator
) -> None:
    chat = messages("When does the office open?", [HOURS, HOME])
    answer(cached, chat)
    cache, fill = cached.passage_cache, cached.last_fill
    assert cache is not None and fill is not None
    cache.clear()
    for key in fill.keys:
        cache.put(key, b"not llama.cpp state")
    cached._llama.reset()
    spoiled = answer(cached, chat)
    assert cached.last_fill is not None and cached.last_fill.failed
    plain._llama.reset()
    assert spoiled == answer(plain, chat)  # read whole: the plain answer


def test_warm_reads_the_opening_before_the_first_question(cached: LlamaCppGenerator) -> None:
    chat = messages("When does the office open?", [HOURS])
    cached.warm(messages("", []))
    answer(cached, chat)
    fill = cached.last_fill
    assert fill is not None and fill.kept > 0  # the opening was already there
    assert fill.computed == len(cached._llama.tokenize(quoted(HOURS).encode(), add_bos=False))


def _positions(generator: LlamaCppGenerator) -> tuple[int, int]:
    import llama_cpp

    memory = llama_cpp.llama_get_memory(generator._llama._ctx.ctx)
    assert llama_cpp.llama_memory_seq_pos_max(memory, 1) == -1  # the scratch sequence is empty
    low = llama_cpp.llama_memory_seq_pos_min(memory, 0)
    return low, llama_cpp.llama_memory_seq_pos_max(memory, 0)


def test_prepared_passages_are_reused_by_the_first_question(cached: LlamaCppGenerator) -> None:
    own = len(cached._llama.tokenize(quoted(HOME).encode(), add_bos=False))
    ahead = cached.prepare(messages("", [HOME]))
    assert ahead is not None and ahead.failed is None
    assert ahead.computed >= own and ahead.stored_bytes > 0  # the passage (and the opening)
    again = cached.prepare(messages("", [HOME]))
    assert again is not None and again.computed == 0

    cached._llama.reset()  # not even the prepared prompt kept in the context: all from the cache
    answer(cached, messages("How many days can I work from home?", [HOME]))
    fill = cached.last_fill
    assert fill is not None and fill.computed == 0 and fill.reused >= own


def test_exact_reuse_gives_the_plain_answer_and_needs_the_same_passages_before(
    exact: LlamaCppGenerator, plain: LlamaCppGenerator
) -> None:
    chat = messages("When does the office open?", [HOURS, HOME, GYM])
    plain._llama.reset()
    expected = answer(plain, chat)
    assert answer(exact, chat) == expected  # read in place, kept
    first = exact.last_fill
    assert first is not None and first.reused == 0 and first.computed > 0

    exact._llama.reset()
    assert answer(exact, chat) == expected  # all from the cache
    again = exact.last_fill
    assert again is not None and again.computed == 0 and again.reused == first.computed

    exact._llama.reset()
    answer(exact, messages("When does the office open?", [HOURS, GYM, HOME]))
    swapped = exact.last_fill  # the first passage still follows the same opening and header
    assert swapped is not None and 0 < swapped.reused < first.computed and swapped.computed > 0


def test_exact_prepared_passage_is_reused_when_it_comes_first(exact: LlamaCppGenerator) -> None:
    ahead = exact.prepare(messages("", [HOME]))
    assert ahead is not None and ahead.failed is None and ahead.computed > 0
    exact._llama.reset()
    answer(exact, messages("How many days can I work from home?", [HOME, GYM]))
    fill = exact.last_fill
    assert fill is not None and fill.reused >= ahead.computed  # the opening and HOME
