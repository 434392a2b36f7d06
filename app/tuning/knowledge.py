"""Training examples from the knowledge base, RAFT-style.

For each sampled chunk the local model writes a question the chunk answers; the question is
shown with the chunk among distractor passages retrieved for the same question (the chunk at a
random position), and the model answers as docent would. The answer is kept only when docent's
claims check finds every cited sentence supported and the chunk itself cited: that answer, with
docent's citation markers, is the target. Some questions are also kept without their chunk and
the passages of its document (passages that do not support the answer): their target is the
not-found reply.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from app.answering.answer import Answerer
from app.answering.citations import resolve
from app.answering.retrieve import retrieve
from app.answering.support import SUPPORT_THRESHOLD, Claim, best_span
from app.generation.generator import ChatMessage
from app.generation.prompting import NOT_FOUND
from app.tuning.examples import TrainingExample, example_id, with_split
from app.tuning.questions import ask_about
from ingest.access import Access
from ingest.catalog import DocumentRecord
from ingest.store import VectorStore
from ingest.types import Passage


@dataclass(frozen=True)
class KnowledgeOptions:
    chunks: int = 40  # chunks sampled from the knowledge base
    passages: int = 4  # passages shown with each question (the answering chunk among them)
    out_of_scope: float = 0.3  # share of questions also kept without their answering passages
    min_words: int = 25  # shorter chunks (headings, stubs) are not sampled
    heldout_percent: int = 20
    seed: int = 0
    max_answer_tokens: int = 256


@dataclass(frozen=True)
class Outcome:
    """What became of one sampled chunk: the examples kept, or why none was."""

    chunk: Passage
    question: str | None
    examples: tuple[TrainingExample, ...] = ()
    skipped: str = ""  # "no question", "not found", "unsupported", "chunk not cited"


def sample_chunks(
    records: Sequence[DocumentRecord],
    store: VectorStore,
    count: int,
    rng: random.Random,
    min_words: int = 25,
) -> list[Passage]:
    """Up to `count` chunks of the searchable documents, drawn at random (the same seed: the
    same chunks), skipping chunks under `min_words` words."""
    chunks = [
        chunk
        for record in records
        if record.status == "ok" and record.version
        for chunk in store.document_chunks(record.doc_id, record.version)
        if len(chunk.text.split()) >= min_words
    ]
    return rng.sample(chunks, min(count, len(chunks)))


def knowledge_examples(
    answerer: Answerer,
    chunks: Sequence[Passage],
    options: KnowledgeOptions,
    progress: Callable[[Outcome], None] | None = None,
) -> Iterator[Outcome]:
    """One outcome per chunk, in order; `answerer` lends its model, search and prompts."""
    rng = random.Random(options.seed)
    for chunk in chunks:
        outcome = _from_chunk(answerer, chunk, options, rng)
        if progress:
            progress(outcome)
        yield outcome


def _from_chunk(
    answerer: Answerer, chunk: Passage, options: KnowledgeOptions, rng: random.Random
) -> Outcome:
    question = ask_about(answerer.generator, chunk)
    if question is None:
        return Outcome(chunk, None, skipped="no question")
    found = _search(answerer, question, options.passages * 3)
    distractors = [p for p in found if not _same_text(p, chunk)][: options.passages - 1]
    shown = list(distractors)
    shown.insert(rng.randint(0, len(shown)), chunk)
    messages = answerer.prompts.messages(question, shown)
    reply = "".join(
        answerer.generator.stream(messages, max_tokens=options.max_answer_tokens, temperature=0.0)
    ).strip()
    skipped = _unfit(reply, shown, shown.index(chunk) + 1, answerer)
    if skipped:
        return Outcome(chunk, question, skipped=skipped)
    final, _, checked = resolve(reply, shown, answerer.embedder)
    group = chunk.point_id or f"{chunk.doc_id}:{chunk.chunk_index}"
    kept = [_example("knowledge", group, question, messages, final, chunk.source)]
    if rng.random() < options.out_of_scope:
        others = [p for p in found if p.doc_id != chunk.doc_id][: options.passages]
        if others and not _supports_any(checked, others):
            oos = answerer.prompts.messages(question, others)
            kept.append(_example("out_of_scope", group, question, oos, NOT_FOUND, ""))
    return Outcome(chunk, question, tuple(with_split(kept, group, options.heldout_percent)))


def _search(answerer: Answerer, question: str, limit: int) -> list[Passage]:
    return retrieve(
        question,
        embedder=answerer.embedder,
        store=answerer.store,
        limit=limit,
        live_versions=answerer.live_versions,
        access=Access.admin(),
        options=answerer.retrieval,
    )


def _unfit(reply: str, shown: Sequence[Passage], number: int, answerer: Answerer) -> str:
    """Why the model's answer is no target ("" when it is one)."""
    if not reply or NOT_FOUND in reply:
        return "not found"
    _, citations, checked = resolve(reply, shown, answerer.embedder)
    if not checked or not all(c.supported for c in checked):
        return "unsupported"
    if not any(c.number == number and c.supported for c in citations):
        return "chunk not cited"
    return ""


def _supports_any(checked: Sequence[Claim], passages: Sequence[Passage]) -> bool:
    """Whether any of the answer's sentences is supported by one of `passages` (then they
    answer the question after all, and not-found would be a wrong target)."""
    return any(
        best_span(claim.sentence, passage.text)[1] >= SUPPORT_THRESHOLD
        for claim in checked
        for passage in passages
    )


def _same_text(found: Passage, chunk: Passage) -> bool:
    """The chunk itself, or a passage joined from it and its neighbours."""
    if found.doc_id != chunk.doc_id:
        return False
    return found.start < chunk.end and chunk.start < found.end


def _example(
    origin: str,
    group: str,
    question: str,
    messages: Sequence[ChatMessage],
    target: str,
    document: str,
) -> TrainingExample:
    return TrainingExample(
        id=example_id("kb" if origin == "knowledge" else "oos", group, question),
        origin="knowledge" if origin == "knowledge" else "out_of_scope",
        question=question,
        messages=(*messages, ChatMessage("assistant", target)),
        answerable=origin == "knowledge",
        document=document,
    )
