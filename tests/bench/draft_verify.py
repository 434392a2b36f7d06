"""Would prompt-lookup decoding pay on this CPU? Measures what it would cost and simulates what
it would save, before anyone builds it.

    python -m tests.bench.draft_verify [--model GGUF] [--answers EVAL.jsonl ...]

Cost: with a real prompt of about `--prompt-tokens` tokens in llama.cpp's cells, the time of one
decode step (one token, its logits) against one verification batch of n tokens with logits at
every position (what checking n - 1 drafted tokens takes), each the median of `--repeat` runs;
the batch's cells are removed after each run, so every run starts from the same prompt.

Saving: for every answer the model wrote in `docent eval answers --out` files (`model_text`),
n-gram drafting is replayed over its own passages and question (the longest of the answer's
last 6..M tokens found earlier in the prompt or the answer proposes the K tokens that followed
it); a step verifies its draft in one batch and keeps the drafted tokens the model would have
written (greedy decoding makes that exact), plus the model's own next token. A step without a
draft is one plain decode. The predicted speed-up, for each M and K, is tokens per step divided
by the measured cost of a step in decode steps: an upper bound, since drafting and the batch's
bookkeeping in Python cost nothing here.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import llama_cpp
from llama_cpp import Llama
from llama_cpp._internals import LlamaBatch

DEFAULT_MODEL = Path("data/models/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf")
DOCS = Path("eval/debian-docs/docs")
BATCHES = (2, 3, 5, 9)
DRAFTS = (1, 2, 4, 8)
MATCHES = (1, 2, 3, 4)


def prompt_text(tokens: int) -> str:
    """Real documentation text, about `tokens` tokens of it (4 characters a token)."""
    text = ""
    for path in sorted(DOCS.rglob("*.txt")):
        text += path.read_text(errors="replace")
        if len(text) > tokens * 4:
            break
    return text[: tokens * 4]


def decode_ms(llm: Llama, tokens: Sequence[int], n_past: int, repeat: int) -> float:
    """Median milliseconds of decoding `tokens` after the prompt, logits at every position."""
    batch = LlamaBatch(n_tokens=len(tokens), embd=0, n_seq_max=1)
    memory = llama_cpp.llama_get_memory(llm.ctx)
    times = []
    for _ in range(repeat):
        batch.set_batch(list(tokens), n_past, logits_all=True)
        started = time.perf_counter()
        llm._ctx.decode(batch)
        times.append((time.perf_counter() - started) * 1000)
        llama_cpp.llama_memory_seq_rm(memory, 0, n_past, -1)  # back to the prompt alone
    batch.close()
    return statistics.median(times)


def step_costs(model: Path, threads: int, prompt_tokens: int, repeat: int) -> dict[int, float]:
    llm = Llama(str(model), n_ctx=4096, n_threads=threads, n_batch=512, verbose=False)
    tokens = llm.tokenize(prompt_text(prompt_tokens).encode(), add_bos=False)
    llm.eval(tokens)
    n_past = len(tokens)
    probe = tokens[:16]
    costs = {1: decode_ms(llm, probe[:1], n_past, repeat)}
    for n in BATCHES:
        costs[n] = decode_ms(llm, probe[:n], n_past, repeat)
    print(f"prompt {n_past} tokens, {threads} threads, median of {repeat}:")
    for n, ms in costs.items():
        print(f"  batch of {n}: {ms:.1f} ms = {ms / costs[1]:.2f} decode steps")
    llm.close()
    return costs


def draft(history: list[int], most: int, shortest: int = 1, longest: int = 6) -> list[int]:
    """The tokens that followed the latest earlier occurrence of the history's last n tokens,
    the longest n first, none shorter than `shortest`."""
    for n in range(longest, shortest - 1, -1):
        if len(history) <= n:
            continue
        tail = history[-n:]
        for i in range(len(history) - n - 1, -1, -1):
            if history[i : i + n] == tail:
                return history[i + n : i + n + most]
    return []


@dataclass
class Replay:
    tokens: int = 0
    steps: int = 0
    cost: float = 0.0  # in decode steps
    drafted: int = 0
    accepted: int = 0


def replay(
    answers: list[tuple[list[int], list[int]]], most: int, shortest: int, cost: dict[int, float]
) -> Replay:
    def batch_cost(n: int) -> float:  # interpolated between measured batch sizes
        sizes = sorted(cost)
        upper = next((s for s in sizes if s >= n), sizes[-1])
        lower = max(s for s in sizes if s <= n)
        if upper == lower:
            return cost[upper] / cost[1]
        share = (n - lower) / (upper - lower)
        return (cost[lower] + share * (cost[upper] - cost[lower])) / cost[1]

    out = Replay()
    for prompt, answer in answers:
        history, i = list(prompt), 0
        while i < len(answer):
            proposed = draft(history, most, shortest)
            kept = 0
            while kept < len(proposed) and i + kept < len(answer):
                if proposed[kept] != answer[i + kept]:
                    break
                kept += 1
            step = kept + 1  # the drafted tokens kept, and the model's own next one
            history += answer[i : i + step]
            i += step
            out.steps += 1
            out.cost += batch_cost(len(proposed) + 1)
            out.drafted += len(proposed)
            out.accepted += kept
        out.tokens += len(answer)
    return out


def read_answers(files: Sequence[Path], model: Path) -> list[tuple[list[int], list[int]]]:
    vocab = Llama(str(model), vocab_only=True, verbose=False)

    def tokens(text: str) -> list[int]:
        return list(vocab.tokenize(text.encode(), add_bos=False))

    pairs = []
    for file in files:
        for line in file.read_text().splitlines():
            row = json.loads(line)
            text = row.get("model_text") or ""
            if not text.strip() or not row["verdict"].get("answered"):
                continue
            sources = "\n".join(p["text"] for p in row["passages"])
            pairs.append((tokens(sources + "\n" + row["item"]["question"]), tokens(text)))
    vocab.close()
    return pairs


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--prompt-tokens", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--answers", type=Path, nargs="*", default=[])
    args = parser.parse_args(argv)
    cost = step_costs(args.model, args.threads, args.prompt_tokens, args.repeat)
    if not args.answers:
        return
    answers = read_answers(args.answers, args.model)
    print(f"{len(answers)} answers replayed (a draft needs a match of at least M tokens):")
    for shortest in MATCHES:
        for most in DRAFTS:
            r = replay(answers, most, shortest, cost)
            print(
                f"  M={shortest} K={most}: {r.tokens / r.steps:.2f} tokens a step, "
                f"{r.accepted}/{r.drafted} drafted tokens kept, "
                f"predicted speed-up {r.tokens / r.cost:.2f}x plain decoding"
            )


if __name__ == "__main__":
    main()
