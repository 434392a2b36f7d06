"""Computing a small collection's passage cells ahead, in turns on the model."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from app.answering.prefill import TOKENS_PER_CHUNK, prefill_passages
from app.generation.generator import ChatMessage, FairQueue
from app.generation.prompt_cells import FillReport
from app.services import Services
from tests.app.sample import passage
from tests.fakes import FakeGenerator


@dataclass
class PreparingGenerator(FakeGenerator):
    """Records each prompt it was asked to prepare, and whether it held the turn then."""

    prepared: list[list[ChatMessage]] = field(default_factory=list)
    turn_held: list[bool] = field(default_factory=list)
    bytes_per_token: int = 10
    cached: set[str] = field(default_factory=set)

    def prepare(self, messages: Sequence[ChatMessage]) -> FillReport:
        self.prepared.append(list(messages))
        self.turn_held.append(self.queue is not None and len(self.queue) == 1)
        report = FillReport()
        for block in messages[-1].quoted:
            tokens = len(block.split())
            if block in self.cached:
                report.reused += tokens
            else:
                self.cached.add(block)
                report.computed += tokens
                report.stored_bytes += tokens * self.bytes_per_token
        return report


def test_each_passage_is_prepared_alone_in_its_own_turn(services: Services) -> None:
    generator = PreparingGenerator(queue=FairQueue())
    answerer = replace(services.answerer, generator=generator)
    texts = ["Leave is 27 days a year.", "The gym opens at 6 am.", "Leave is 27 days a year."]
    report = prefill_passages(answerer, [passage(t) for t in texts], 3, budget_bytes=10**9)
    assert (report.chunks, report.computed, report.stopped) == (3, 2, "")
    assert [len(m[-1].quoted) for m in generator.prepared] == [1, 1, 1]
    assert all(generator.turn_held) and generator.queue is not None and len(generator.queue) == 0


def test_it_stops_when_the_whole_collection_would_not_fit(services: Services) -> None:
    generator = PreparingGenerator(queue=FairQueue(), bytes_per_token=1000)
    answerer = replace(services.answerer, generator=generator)
    chunks = [passage(f"Policy number {n} says something.") for n in range(50)]
    budget = 1000 * TOKENS_PER_CHUNK * 10  # room for ten chunks of this size, not fifty
    report = prefill_passages(answerer, chunks, len(chunks), budget)
    assert report.computed == 1 and "would take" in report.stopped
    assert len(generator.prepared) == 1


def test_a_model_that_keeps_no_cells_is_left_alone(services: Services) -> None:
    generator = FakeGenerator(queue=FairQueue())
    answerer = replace(services.answerer, generator=generator)
    report = prefill_passages(answerer, [passage("Anything.")], 1, budget_bytes=10**9)
    assert report.stopped == "the model keeps no passage cells" and generator.calls == []
