"""Answer a question from the knowledge base: retrieve -> budget -> prompt -> generate -> cite.

`Answerer.stream` yields events (place in the model's queue, passages found, answer tokens, the
finished `Answer`, or why there is none); every surface — CLI, web page, htmx stream, JSON API —
consumes the same events or the same Answer. Closing the stream stops generation and hands the
model to the next request in line.
"""

from __future__ import annotations

import time
from collections import abc
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass, field, replace
from typing import Protocol

from app.answering.acronyms import expanded
from app.answering.citations import Citation, resolve
from app.answering.evidence import evidence_strength
from app.answering.followup import Turn, condense, needs_context
from app.answering.grounding import (
    REASONS,
    Grounding,
    GroundingOptions,
    Subject,
    after_generation,
    before_generation,
    missing_words,
)
from app.answering.retrieve import LiveVersions, RetrievalOptions, retrieve
from app.answering.support import Claim
from app.answering.unknown_names import looks_like_a_name, unknown_names
from app.answering.yes_denied import YES, denied_yes
from app.generation.generator import (
    ChatMessage,
    FairQueue,
    GenerationFailed,
    Generator,
    ModelBusy,
    Ticket,
)
from app.generation.opening import Opening, OpeningCheck
from app.generation.prompting import NOT_FOUND, Prompts
from app.generation.thinking import ThinkingFilter, without_thinking
from ingest.access import PUBLIC, Access
from ingest.embed import Embedder
from ingest.store import VectorStore
from ingest.types import Passage, SearchFilters


@dataclass(frozen=True)
class AnswerOptions:
    top_k: int = 5
    max_answer_tokens: int = 384
    temperature: float = 0.1
    not_found_floor: float = 0.5  # see app.generation.opening
    min_evidence: float = 0.0  # refuse below this evidence strength (see app.answering.evidence)
    grounding: GroundingOptions = field(
        default_factory=GroundingOptions
    )  # see app.answering.grounding
    queue_timeout: float | None = None  # seconds to wait for the model; None: no limit


@dataclass(frozen=True)
class Timings:
    retrieval_ms: float
    first_token_ms: float | None  # from the question to the first answer token
    generation_ms: float  # prompt processing and decoding
    decode_ms: float  # from the first answer token to the last
    total_ms: float
    prompt_tokens: int
    completion_tokens: int
    queued_ms: float = 0.0  # waiting for the model while other requests used it

    @property
    def tokens_per_second(self) -> float | None:
        """Decoding speed: tokens after the first, over the time after the first."""
        if self.completion_tokens < 2 or self.decode_ms <= 0:
            return None
        return (self.completion_tokens - 1) / (self.decode_ms / 1000)


@dataclass(frozen=True)
class Answer:
    question: str
    text: str
    citations: list[Citation]
    passages: list[Passage]  # what the model was shown, numbered from 1
    model: str
    prompt_version: str
    timings: Timings
    dropped: list[Passage] = field(default_factory=list)  # retrieved, but over the budget
    claims: list[Claim] = field(default_factory=list)  # cited sentences, checked
    reasoning: str = ""  # a reasoning model's <think> text, kept out of `text`
    evidence: float | None = None  # best question-passage similarity (see app.answering.evidence)
    refused: bool = False  # declined by docent (see `declined`): closest passages listed
    search_query: str | None = None  # the standalone rewrite of a follow-up, when one was made
    declined: str = (
        ""  # why docent declined (a key of app.answering.grounding.REASONS); "" if it did not
    )
    model_text: str = ""  # what the model wrote, before docent's citation markers
    grounding: Grounding | None = None  # what the grounding checks measured
    adapter: str = ""  # the LoRA adapter applied to the model ("" when none)
    not_found_probability: float | None = None  # the model's odds for opening with "not found"
    not_found_ruled_out: bool = False  # below DOCENT_NOT_FOUND_FLOOR (app.generation.opening)
    not_found_overruled: bool = False  # ruled out while the model's likeliest first token
    reasked: bool = False  # its first answer said "Yes" where the passage it cited says no
    first_text: str = ""  # that first answer, when asked again (see app.answering.yes_denied)

    @property
    def declined_because(self) -> str:
        """The reason docent declined, in words ("" when it did not)."""
        return REASONS.get(self.declined, self.declined)

    @property
    def unsupported_claims(self) -> list[Claim]:
        return [c for c in self.claims if not c.supported]

    @property
    def found(self) -> bool:
        return bool(self.passages) and not self.refused and NOT_FOUND not in self.text

    @property
    def sources(self) -> list[Citation]:
        """One citation per cited passage, in order of first mention."""
        return self.citations


@dataclass(frozen=True)
class Queued:
    """Other requests are ahead in line for the model; sent again each time the line moves.

    Asking for the next event waits (in the asking thread) until the line moves again; a
    consumer that would rather not hold a thread meanwhile waits until `moved()` is true
    first (see `app.web.streaming.Parked`)."""

    ahead: int  # requests before this one, the one being answered included (1: next)
    moved: Callable[[], bool] = field(default=lambda: True, compare=False, repr=False)


@dataclass(frozen=True)
class Failed:
    """No answer this time, and the stream ends here. `busy`: the model stayed taken past
    the wait limit (DOCENT_QUEUE_TIMEOUT); otherwise it could not be reached."""

    message: str
    busy: bool = False


@dataclass(frozen=True)
class Rewritten:
    """A follow-up was rewritten into this standalone query (shown to the user)."""

    query: str


@dataclass(frozen=True)
class Retrieved:
    passages: list[Passage]


@dataclass(frozen=True)
class Token:
    text: str


@dataclass(frozen=True)
class Done:
    answer: Answer


AnswerEvent = Queued | Rewritten | Retrieved | Token | Done | Failed
Events = abc.Generator[AnswerEvent, None, None]


@dataclass(frozen=True)
class _Evidence:
    query: str  # what was searched: the question, or its standalone rewrite
    passages: list[Passage]
    dropped: list[Passage]
    strength: float
    retrieval_ms: float
    grounding: Grounding


class AnswerObserver(Protocol):
    """Told of each answer stream: when it begins, every event, and when it ends (finished,
    failed, or closed by a consumer that went away)."""

    def began(self) -> None: ...

    def saw(self, event: AnswerEvent) -> None: ...

    def ended(self) -> None: ...


def _observed(events: Events, observers: Sequence[AnswerObserver]) -> Events:
    for observer in observers:
        observer.began()
    try:
        with closing(events):
            for event in events:
                for observer in observers:
                    observer.saw(event)
                yield event
    finally:
        for observer in observers:
            observer.ended()


class _Turn:
    """This request's place in the generator's queue: joined at the first need of the model,
    kept until the stream ends (so a follow-up's rewrite and its answer are one turn)."""

    def __init__(self, queue: FairQueue | None, timeout: float | None) -> None:
        self._queue = queue
        self._timeout = timeout
        self._ticket: Ticket | None = None
        self.waited_ms = 0.0

    def take(self) -> Iterator[Queued]:
        if self._queue is None or self._ticket is not None:
            return
        self._ticket = self._queue.join()
        started = time.perf_counter()
        for ahead in self._ticket.wait(self._timeout):
            yield Queued(ahead, self._ticket.moved)
        self.waited_ms += _ms_since(started)

    def leave(self) -> None:
        if self._ticket is not None:
            self._ticket.leave()
            self._ticket = None  # taken again if the model is needed once more


@contextmanager
def model_turn(queue: FairQueue | None) -> Iterator[None]:
    """Hold a turn on the model, after those ahead, for work that is not an answer (warming
    up, computing passage cells ahead); without a queue, nothing to wait for."""
    turn = _Turn(queue, None)
    try:
        for _ in turn.take():
            pass
        yield
    finally:
        turn.leave()


@dataclass(frozen=True)
class Answerer:
    """The core of the answer flow; built once with the app's services."""

    embedder: Embedder
    store: VectorStore
    generator: Generator
    prompts: Prompts
    options: AnswerOptions
    live_versions: LiveVersions | None = None  # the catalog's current version per document
    retrieval: RetrievalOptions | None = (
        None  # fusion, reranker, neighbours (app.answering.retrieve)
    )
    # follow-up rewrites run here when given (llama.cpp: the same context, its cached prompt
    # put back afterwards), so the follow-up's answer reuses the previous answer's prompt
    rewriter: Generator | None = None
    # told of every event of every answer, whichever surface asked (metrics)
    observers: tuple[AnswerObserver, ...] = ()

    def answer(
        self,
        question: str,
        access: Access = PUBLIC,
        conversation: Sequence[Turn] = (),
        filters: SearchFilters | None = None,
        *,
        max_tokens: int | None = None,
    ) -> Answer:
        events = self.stream(question, access, conversation, filters, max_tokens=max_tokens)
        with closing(events):
            for event in events:
                if isinstance(event, Done):
                    return event.answer
                if isinstance(event, Failed):
                    raise (ModelBusy if event.busy else GenerationFailed)(event.message)
        raise RuntimeError("answer stream ended without an answer")  # pragma: no cover

    def warm(self) -> bool:
        """Have an in-process model read the answer prompt's opening (the system prompt) now,
        taking a turn like a question, so the first question finds it ready. False when the
        generator has nothing to warm (a model server). The English word frequencies of the
        name check are loaded here too (about 0.4 s, once)."""
        if self.options.grounding.rare_name_below > 0:
            looks_like_a_name("docent", self.options.grounding.rare_name_below)
        warm = getattr(self.generator, "warm", None)
        if warm is None:
            return False
        with model_turn(self.generator.queue):
            warm(self.prompts.messages("", []))
        return True

    def stream(
        self,
        question: str,
        access: Access = PUBLIC,
        conversation: Sequence[Turn] = (),
        filters: SearchFilters | None = None,
        *,
        max_tokens: int | None = None,
    ) -> Events:
        """Events: [Queued..., Rewritten], Retrieved, [Queued...], Token..., Done; or, once
        the model was needed and could not be had, Failed (the last event). `max_tokens`
        caps this answer's length below the configured one."""
        limit = self.options.max_answer_tokens
        limit = limit if max_tokens is None else min(limit, max_tokens)
        events = self._events(question, access, conversation, filters, limit)
        if not self.observers:
            return events
        return _observed(events, self.observers)

    def _events(
        self,
        question: str,
        access: Access,
        conversation: Sequence[Turn],
        filters: SearchFilters | None,
        max_tokens: int,
    ) -> Events:
        started = time.perf_counter()
        turn = _Turn(self.generator.queue, self.options.queue_timeout)
        try:
            query = question
            if needs_context(question, conversation):
                yield from turn.take()
                rewriter = self.rewriter or self.generator
                query = condense(question, conversation, rewriter, self.prompts)
                yield Rewritten(query)
            evidence = self._search(query, access, started, filters, max_tokens)
            yield Retrieved(evidence.passages)
            decline = self._decline_early(evidence)
            if decline is not None:
                turn.leave()
                yield Done(self._refusal(question, evidence, started, decline))
                return
            yield from turn.take()
            yield from self._generate(question, evidence, started, turn, max_tokens)
        except GenerationFailed as exc:
            yield Failed(str(exc), busy=isinstance(exc, ModelBusy))
        finally:
            turn.leave()  # also when the consumer closed the stream: the next request goes

    def _search(
        self,
        query: str,
        access: Access,
        started: float,
        filters: SearchFilters | None,
        max_tokens: int,
    ) -> _Evidence:
        vector, found = self._retrieve(query, access, filters)
        longer = expanded(query, found)  # "CFO" defined as "Chief Financial Officer" somewhere
        if longer is not None:
            query = longer
            vector, found = self._retrieve(query, access, filters)
        strength = evidence_strength(vector, found, self.embedder)  # as calibrated
        passages, dropped = self.fit(query, found, max_tokens)
        grounding = before_generation(
            query, passages, self.options.grounding, self._unknown(query, access, vector)
        )
        return _Evidence(query, passages, dropped, strength, _ms_since(started), grounding)

    def _retrieve(
        self, query: str, access: Access, filters: SearchFilters | None
    ) -> tuple[list[float], list[Passage]]:
        vector = self.embedder.embed([query])[0]
        found = retrieve(
            query,
            embedder=self.embedder,
            store=self.store,
            limit=self.options.top_k,
            live_versions=self.live_versions,
            access=access,
            question_vector=vector,
            filters=filters,
            options=self.retrieval,
        )
        return vector, found

    def _unknown(
        self, query: str, access: Access, vector: list[float]
    ) -> Callable[[Subject], tuple[str, ...]]:
        """Which of the words the passages miss no document (that the asker may read) uses."""
        rare_below = self.options.grounding.rare_name_below

        def unknown(found: Subject) -> tuple[str, ...]:
            missing = missing_words(query, found)
            return unknown_names(missing, self.store, access, vector, rare_below)

        return unknown

    def _decline_early(self, evidence: _Evidence) -> str | None:
        """Why not to generate at all: "" for no passages, a reason, or None (generate)."""
        if not evidence.passages:
            return ""
        if evidence.strength < self.options.min_evidence:
            return "weak_evidence"
        return evidence.grounding.reason or None

    def _refusal(self, question: str, evidence: _Evidence, started: float, reason: str) -> Answer:
        timings = Timings(evidence.retrieval_ms, None, 0.0, 0.0, _ms_since(started), 0, 0)
        answer = self._finish(question, NOT_FOUND, evidence)
        return replace(answer, timings=timings, refused=bool(evidence.passages), declined=reason)

    def _generate(
        self, question: str, evidence: _Evidence, started: float, turn: _Turn, max_tokens: int
    ) -> Events:
        messages = self.prompts.messages(evidence.query, evidence.passages)
        prompt_tokens = sum(self.generator.count_tokens(m.content) for m in messages)
        first_token_ms: float | None = None
        first_token_at = generation_started = time.perf_counter()
        thinking = ThinkingFilter()
        pieces: list[str] = []
        opening = Opening(NOT_FOUND, self.options.not_found_floor)
        with closing(self._written(messages, max_tokens, opening, thinking)) as written:
            for piece in written:  # closed early too, so decoding stops when the consumer goes
                if first_token_ms is None:
                    first_token_ms = _ms_since(started)
                    first_token_at = time.perf_counter()
                pieces.append(piece)
                yield Token(piece)
        turn.leave()  # the next request may have the model while this answer is checked
        text = "".join(pieces).strip()
        check = self._opening_check()
        answer = self._finish(question, text, evidence, check is not None and check.overruled)
        if check is not None and denied_yes(text, answer.claims, evidence.passages):
            yield from turn.take()  # the model again, after those now in line
            no_yes = Opening(YES, 1.0)  # ruled out whatever the model's odds for it
            again = "".join(self._written(messages, max_tokens, no_yes, ThinkingFilter()))
            turn.leave()
            answer = replace(
                self._finish(question, again.strip(), evidence), first_text=text, reasked=True
            )
        completion = answer.model_text
        timings = Timings(
            retrieval_ms=evidence.retrieval_ms,
            first_token_ms=first_token_ms,
            generation_ms=_ms_since(generation_started),
            decode_ms=_ms_since(first_token_at),
            total_ms=_ms_since(started),
            prompt_tokens=prompt_tokens,
            completion_tokens=self.generator.count_tokens(completion) if completion else 0,
            queued_ms=turn.waited_ms,
        )
        answer = replace(answer, timings=timings, reasoning="".join(thinking.reasoning).strip())
        if check is not None:
            answer = replace(
                answer,
                not_found_probability=check.probability,
                not_found_ruled_out=check.ruled_out,
                not_found_overruled=check.overruled,
            )
        yield Done(answer)

    def _written(
        self,
        messages: Sequence[ChatMessage],
        max_tokens: int,
        opening: Opening,
        thinking: ThinkingFilter,
    ) -> abc.Generator[str, None, None]:
        """The model's answer, piece by piece, its reasoning (if any) kept in `thinking`."""
        raw = self.generator.stream(
            messages, max_tokens=max_tokens, temperature=self.options.temperature, opening=opening
        )
        with closing(raw):
            yield from without_thinking(raw, thinking)

    def _opening_check(self) -> OpeningCheck | None:
        """What an in-process model's check of the first token saw (None: a model server)."""
        check = getattr(self.generator, "last_opening", None)
        return check if isinstance(check, OpeningCheck) else None

    def fit(
        self, question: str, passages: Sequence[Passage], max_tokens: int | None = None
    ) -> tuple[list[Passage], list[Passage]]:
        """The best passages whose prompt leaves room for the answer (`max_tokens`, the
        configured length by default) in the context window."""
        room = self.options.max_answer_tokens if max_tokens is None else max_tokens
        budget = self.generator.context_length - room - 16
        fits, too_many = 0, len(passages) + 1  # prompts grow with each passage: bisect
        if self._prompt_tokens(question, passages) <= budget:
            fits = len(passages)
        else:
            too_many = len(passages)
        while too_many - fits > 1:
            middle = (fits + too_many) // 2
            if self._prompt_tokens(question, passages[:middle]) <= budget:
                fits = middle
            else:
                too_many = middle
        return list(passages[:fits]), list(passages[fits:])

    def _prompt_tokens(self, question: str, passages: Sequence[Passage]) -> int:
        messages = self.prompts.messages(question, passages)
        return sum(self.generator.count_tokens(m.content) for m in messages)

    def _finish(
        self,
        question: str,
        text: str,
        evidence: _Evidence,
        overruled: bool = False,
    ) -> Answer:
        """The answer `text` makes, cited and checked; its timings are set by the caller."""
        passages = evidence.passages
        found = NOT_FOUND not in text
        final, citations, checked = (
            resolve(text, passages, self.embedder) if found else (text, [], [])
        )
        answer = Answer(
            question=question,
            text=final or NOT_FOUND,
            citations=citations,
            passages=passages,
            model=self.generator.model_id,
            adapter=self.generator.adapter,
            prompt_version=self.prompts.version,
            timings=_NO_TIMINGS,
            dropped=evidence.dropped,
            claims=checked,
            evidence=evidence.strength,
            search_query=evidence.query if evidence.query != question else None,
            model_text=text,
            grounding=evidence.grounding,
        )
        if not (found and text):  # declined before generation, or the model said not found
            return answer
        numbers = [c.number for c in citations]
        options = self.options.grounding
        grounding = after_generation(
            evidence.query,
            evidence.grounding,
            passages,
            numbers,
            checked,
            options,
            final,
            overruled=overruled,
        )
        answer = replace(answer, grounding=grounding)
        if grounding.reason:  # written, but not from the passages: withheld
            return replace(
                answer, text=NOT_FOUND, citations=[], refused=True, declined=grounding.reason
            )
        return answer


_NO_TIMINGS = Timings(0.0, None, 0.0, 0.0, 0.0, 0, 0)


def _ms_since(start: float) -> float:
    return (time.perf_counter() - start) * 1000
